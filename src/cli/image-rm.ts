// lifeboat image rm <id> --store <dir>: unlists the image at once; gc reclaims its chunks.
import type { Command } from 'commander';
import { ImageStore } from '../imaging/repo/image-store.js';
import { storeDir } from './common.js';

export function register(image: Command): void {
  image
    .command('rm')
    .description('remove an image (run `lifeboat store gc` to reclaim its chunks)')
    .argument('<image-id>', 'image to remove')
    .option('--store <dir>', 'image store directory')
    .action(async (imageId: string, o: { store?: string }) => {
      const store = await ImageStore.open(storeDir(o.store));
      await store.removeImage(imageId);
      process.stdout.write(`removed image ${imageId}; run \`lifeboat store gc --store ${store.root}\` to reclaim space\n`);
    });
}

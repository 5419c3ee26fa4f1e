// Keeps the database's image list in line with the image store, which is the truth. One
// image the store cannot certify, or whose facts the database refuses (a label written
// before labels were checked), is skipped, logged and reported: it never stops the
// daemon from starting nor fails a job whose own image committed. Images written into the
// store by the local CLI (`lifeboat image backup --store …`) are noticed on read: a list
// first compares the store's image directories with the database's ids (one readdir).
import type { ImageStore } from '../imaging/repo/image-store.js';
import { type ImageFacts, type ManagementStore, type ReconcileResult, imageFactsFromManifest } from '../db/index.js';

export interface ImageSyncReport extends ReconcileResult {
  /** Images of the store whose manifest fails certification or cannot be read. */
  damaged: Array<{ id: string; error: string }>;
}

export type SyncLog = (level: 'info' | 'warning', message: string, fields?: Record<string, unknown>) => void;

/** Mirrors every image of `images` into `db`; never throws for one bad image. */
export async function syncImages(db: ManagementStore, images: ImageStore, log: SyncLog): Promise<ImageSyncReport> {
  const listed = await images.listImages();
  const facts: ImageFacts[] = [];
  const unreadable: Array<{ id: string; error: string }> = [];
  for (const m of listed.images) {
    try {
      facts.push(imageFactsFromManifest(m));
    } catch (err) {
      unreadable.push({ id: m.id, error: `image ${m.id}: ${(err as Error).message}` });
    }
  }
  const result = await db.images.reconcile(facts);
  const report: ImageSyncReport = { ...result, skipped: [...unreadable, ...result.skipped], damaged: listed.damaged };
  for (const d of report.damaged) log('warning', `${d.error}: the image is not listed until it is repaired or removed`, { image: d.id });
  for (const s of report.skipped) log('warning', `image left out of the database: ${s.error}`, { image: s.id });
  if (result.added.length + result.updated.length + result.removed.length > 0) log('info', 'images reconciled with the store', { added: result.added, updated: result.updated, removed: result.removed });
  return report;
}

/** True when the store's image directories and the database's image ids differ (a cheap check before a full sync). */
export async function imagesChanged(db: ManagementStore, images: ImageStore, known: { skipped: Set<string> }): Promise<boolean> {
  const onDisk = (await images.imageIds()).filter((id) => !known.skipped.has(id));
  const inDb = new Set((await db.images.list()).filter((r) => r.location === undefined).map((r) => r.id)); // images kept elsewhere are not in this store
  return onDisk.length !== inDb.size || onDisk.some((id) => !inDb.has(id));
}

/**
 * A sync that runs only when the store changed behind the daemon's back, for every read of
 * the image list. Images skipped or damaged at the last sync are not retried on every read
 * (they are retried when anything else changes).
 */
export function imageSyncer(db: ManagementStore, images: ImageStore, log: SyncLog) {
  const known = { skipped: new Set<string>() };
  let running: Promise<ImageSyncReport> | null = null;
  const sync = async () => {
    running ??= syncImages(db, images, log).finally(() => (running = null));
    const report = await running;
    known.skipped = new Set([...report.skipped, ...report.damaged].map((s) => s.id));
    return report;
  };
  return {
    sync,
    async ifChanged(): Promise<void> {
      if (await imagesChanged(db, images, known)) await sync();
    },
  };
}

export type ImageSyncer = ReturnType<typeof imageSyncer>;

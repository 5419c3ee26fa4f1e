// What cancelling a job means, in the words the console uses: before (the confirm dialog)
// and after (the flash once the daemon says how the job really ended). Pure.
import type { Job } from '../api/contract.js';

/** The confirm dialog's lines for cancelling `j`: what is left behind, by job type and state. */
export function cancelDialogLines(j: Pick<Job, 'type' | 'state' | 'devicePath' | 'imageId'>): string[] {
  if (j.state === 'queued' || j.state === 'waiting-for-boot' || j.state === 'booting') return [`${j.type} ${j.state}: it has not started; nothing has been read or written.`];
  const target = j.devicePath ?? 'the target disk';
  switch (j.type) {
    case 'backup':
      return [`backup ${j.state}: the backup stops and no image is made.`];
    case 'restore':
      return [
        `restore ${j.state}: the restore stops part-way.`,
        `${target} is left INCOMPLETE (part image ${j.imageId ?? ''}, part what was there before): do not use it until it is restored again.`,
        'A new disk-image file the restore created is removed instead.',
      ];
    case 'verify':
      return [`verify ${j.state}: the check stops; the image is left as it is, not fully checked.`];
    default:
      return [`${j.type} ${j.state}: the job stops.`];
  }
}

/** The flash after the daemon answered a cancel: the state the job really ended in. */
export function cancelOutcome(j: Pick<Job, 'id' | 'type' | 'state' | 'outcome' | 'targetIncomplete' | 'devicePath'>): { text: string; kind: 'info' | 'error' } {
  if (j.state === 'cancelled') {
    const words = j.outcome ?? 'cancelled';
    return { text: `job ${j.id} ${words.startsWith('cancelled') ? words : `cancelled: ${words}`}`, kind: j.targetIncomplete ? 'error' : 'info' };
  }
  if (j.state === 'done') return { text: `job ${j.id} was not cancelled: the ${j.type} finished first (done)`, kind: 'error' };
  return { text: `job ${j.id} was not cancelled: it ended ${j.state}${j.outcome ? ` (${j.outcome})` : ''}`, kind: 'error' };
}

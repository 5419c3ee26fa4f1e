// A schedule's or machine's restore passphrase lives in a file the operator keeps, never
// in the database: the database stores only the file's path. The daemon checks the file
// when the setting is made and again each time a backup reads it — an absolute path to a
// regular file (no symlink), owned by root, with no permission for others and not
// writable by its group — and reads its first line at run time, straight into the engine.
// The secret is never logged, never put in a job record, an event or an error message.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { LifeboatError, describeSystemError, userError } from '../errors.js';
import { checkPassphrasePath } from '../db/validate.js';

export { checkPassphrasePath };

/** At most this many bytes are read: the passphrase is the first line, at most 1024 characters. */
const MAX_FILE_BYTES = 64 * 1024;
const MAX_PASSPHRASE = 1024;

/** How strict the mode check is: a share's password file may not be readable by its group either. */
export interface SecretFileRules {
  groupMayRead: boolean;
}

/** What is wrong with a passphrase file's owner and mode, with the command that fixes it, or null. Pure. */
export function passphraseFileProblem(path: string, st: { uid: number; mode: number; isFile: boolean }, rules: SecretFileRules = { groupMayRead: true }): string | null {
  if (!st.isFile) return `passphrase file ${path} is not a regular file: give a file holding the passphrase on its first line`;
  if (st.uid !== 0) return `passphrase file ${path} is owned by uid ${st.uid}, not root: anyone who owns it can change or read the passphrase; run \`chown root: ${path}\``;
  const mode = st.mode & 0o777;
  if ((mode & 0o007) !== 0) return `passphrase file ${path} has mode ${mode.toString(8).padStart(4, '0')}: others may ${(mode & 0o004) !== 0 ? 'read' : 'use'} it; run \`chmod 600 ${path}\``;
  if ((mode & 0o020) !== 0) return `passphrase file ${path} has mode ${mode.toString(8).padStart(4, '0')}: its group may change it; run \`chmod 600 ${path}\``;
  if (!rules.groupMayRead && (mode & 0o070) !== 0) return `passphrase file ${path} has mode ${mode.toString(8).padStart(4, '0')}: its group may read it; run \`chmod 600 ${path}\``;
  return null;
}

/**
 * Opens the file without following a symlink, checks owner and mode on the open file
 * (what is read is what was checked) and returns its first line. Every failure is a user
 * error naming the file and what to fix; none quotes the file's content.
 */
export function readPassphraseFile(path: string, subject = 'passphrase file', rules: SecretFileRules = { groupMayRead: true }): string {
  const file = checkPassphrasePath(path);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw userError(`${subject} ${file} is a symbolic link: name the file itself`);
    const e = describeSystemError(err, `${subject} ${file}`);
    throw new LifeboatError(e.kind, `${e.message}${(err as NodeJS.ErrnoException).code === 'ENOENT' ? ` (create it with the passphrase on its first line, \`chmod 600\`, or change the setting)` : ''}`);
  }
  try {
    const st = fstatSync(fd);
    const problem = passphraseFileProblem(file, { uid: st.uid, mode: st.mode, isFile: st.isFile() }, rules);
    if (problem !== null) throw userError(problem.replace('passphrase file', subject));
    const buf = Buffer.alloc(Math.min(MAX_FILE_BYTES, Math.max(1, st.size)));
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    const line = buf.subarray(0, n).toString('utf8').split(/\r?\n/)[0] ?? '';
    if (line.length === 0) throw userError(`${subject} ${file} is empty: put the passphrase on its first line`);
    if (line.length > MAX_PASSPHRASE) throw userError(`${subject} ${file}: its first line is longer than ${MAX_PASSPHRASE} characters: use a shorter passphrase`);
    return line;
  } catch (err) {
    throw describeSystemError(err, `${subject} ${file}`);
  } finally {
    closeSync(fd);
  }
}

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

/** When the process started, where the OS tells (Linux); tells a reused PID from the original. */
function startTimeOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isRunning(pid: number, startedAt: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else — still running.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTimeOf(pid);
  return !startedAt || now === null || now === startedAt;
}

/**
 * Claims a PGlite data directory for this process. PGlite does not stop a second process from
 * opening the same files, and two writers would corrupt them; the embedded store also keeps what
 * it wrote in memory on the promise that nobody else writes. A lock left by a process that is no
 * longer running (a crash) is taken over. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'hearth.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(path, `${process.pid} ${startTimeOf(process.pid) ?? ''}`.trim(), { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pid, startedAt] = readFileSync(path, 'utf8').split(' ');
      const holder = Number.parseInt(pid ?? '', 10);
      if (Number.isInteger(holder) && holder !== process.pid && isRunning(holder, startedAt)) {
        throw new DataDirInUseError(
          `${dataDir} is in use by another Hearth process (pid ${holder}); stop it, or set HEARTH_DATA_DIR to another directory`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new DataDirInUseError(`${dataDir} could not be locked; another process keeps claiming it`);
}

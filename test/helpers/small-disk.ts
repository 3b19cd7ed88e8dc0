/**
 * A real size-limited filesystem for a node's data dir (a tmpfs of a few MB),
 * so a full disk is the kernel's ENOSPC and not a simulated failure. Mounting
 * needs root (CAP_SYS_ADMIN); `canMountSmallDisk()` says whether this machine
 * allows it, and callers that cannot skip with that reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FILLER = 'filler.bin';

export function mountSmallDisk(dir: string, sizeMb: number): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
}

export function unmountSmallDisk(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // not mounted (the mount failed or was already undone)
  }
}

let probed: boolean | undefined;
export function canMountSmallDisk(): boolean {
  if (probed !== undefined) return probed;
  const dir = mkdtempSync(join(tmpdir(), 'chainmesh-mount-probe-'));
  try {
    mountSmallDisk(dir, 1);
    unmountSmallDisk(dir);
    probed = true;
  } catch {
    probed = false;
  }
  rmdirSync(dir);
  return probed;
}

/** Fills the filesystem at `dir` until only `leaveBytes` are free. */
export function fillDisk(dir: string, leaveBytes = 16 * 1024): void {
  const s = statfsSync(dir);
  writeFileSync(join(dir, FILLER), Buffer.alloc(Math.max(0, s.bavail * s.bsize - leaveBytes)));
}

/** Gives the space back. */
export function freeDisk(dir: string): void {
  rmSync(join(dir, FILLER), { force: true });
}

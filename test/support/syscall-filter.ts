// A unit's SystemCallFilter as systemd applies it, with the sets read from systemd-analyze, and
// the system calls a process tree made as strace -f -c counts them.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Each set of `systemd-analyze syscall-filter` (e.g. "@system-service") with its direct members (calls and sets). */
export type SyscallSets = Map<string, string[]>;

export async function loadSyscallSets(): Promise<SyscallSets> {
  const out = await run('systemd-analyze', ['syscall-filter'], { maxBuffer: 4 * 1024 * 1024 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new Error('systemd-analyze is not installed; install it with: apt-get install --no-install-recommends systemd');
    throw err;
  });
  return parseSyscallSets(out.stdout);
}

export function parseSyscallSets(text: string): SyscallSets {
  const sets: SyscallSets = new Map();
  let current: string[] | null = null;
  for (const line of text.split('\n')) {
    if (/^@[\w-]+$/.test(line)) sets.set(line, (current = []));
    else if (!line.startsWith(' '))
      current = null; // "# Ungrouped …" and the like end a set
    else if (current && !line.trim().startsWith('#') && line.trim() !== '') current.push(line.trim());
  }
  if (!sets.has('@system-service') || !sets.has('@known')) throw new Error('systemd-analyze syscall-filter listed no @system-service or @known set');
  return sets;
}

/** The system calls of a set or a single call, sets expanded. */
export function expand(sets: SyscallSets, item: string, seen = new Set<string>()): Set<string> {
  if (!item.startsWith('@')) return new Set([item]);
  const members = sets.get(item);
  if (!members) throw new Error(`systemd-analyze knows no system call set ${item}`);
  const calls = new Set<string>();
  if (seen.has(item)) return calls;
  seen.add(item);
  for (const m of members) for (const c of expand(sets, m, seen)) calls.add(c);
  return calls;
}

export interface Filter {
  /** The SystemCallFilter= lines, in order, as written in the unit. */
  lines: string[];
  allows(call: string): boolean;
  /** Why a call is refused: the `~` entry that removed it, or the allow list it is outside of. */
  why(call: string): string;
}

/**
 * systemd.exec(5): the first SystemCallFilter= decides the default (an allow list, which always
 * includes @default, or a deny list); later lines add to or remove from it; an empty one resets.
 * An entry may carry ":ERRNO", which does not change what is filtered.
 */
export function unitFilter(unitText: string, sets: SyscallSets): Filter {
  const lines = unitText
    .split('\n')
    .map((l) => /^\s*SystemCallFilter=(.*)$/.exec(l)?.[1]?.trim())
    .filter((v): v is string => v !== undefined);
  let mode: 'allow' | 'deny' | null = null;
  const listed = new Set<string>();
  /** For a refused call, the `~` entry that refused it last. */
  const deniedBy = new Map<string, string>();
  const allowItems: string[] = [];
  for (const value of lines) {
    if (value === '') {
      mode = null;
      listed.clear();
      deniedBy.clear();
      allowItems.length = 0;
      continue;
    }
    const deny = value.startsWith('~');
    mode ??= deny ? 'deny' : 'allow';
    const items = value
      .replace(/^~/, '')
      .split(/\s+/)
      .map((i) => i.replace(/:.*$/, ''));
    if (mode === 'allow' && allowItems.length === 0) items.unshift('@default');
    for (const item of items) {
      if (!deny) allowItems.push(item);
      for (const call of expand(sets, item)) {
        if (deny) deniedBy.set(call, `~${item}`);
        else deniedBy.delete(call);
        // An allow list lists what passes, a deny list what is refused.
        if ((mode === 'allow') !== deny) listed.add(call);
        else listed.delete(call);
      }
    }
  }
  const allows = (call: string): boolean => (mode === 'deny' ? !listed.has(call) : mode === null || listed.has(call));
  const known = expand(sets, '@known');
  const setsOf = (call: string): string[] => [...sets.keys()].filter((s) => s !== '@known' && expand(sets, s).has(call));
  return {
    lines,
    allows,
    why: (call) => {
      if (allows(call)) return 'allowed';
      const where = setsOf(call);
      const member = where.length > 0 ? `it is in ${where.join(', ')}` : known.has(call) ? 'it is in no set but @known' : 'systemd-analyze does not know it';
      const denied = deniedBy.get(call);
      return denied ? `denied by ${denied} (${member})` : `outside the allowed ${allowItems.join(' ')} (${member})`;
    },
  };
}

export async function unitFilterOf(unitPath: string, sets: SyscallSets): Promise<Filter> {
  return unitFilter(await readFile(unitPath, 'utf8'), sets);
}

/** Calls and failed calls per system call, from the summary table `strace -c -o FILE` writes. */
export function parseStraceSummary(text: string): Map<string, { calls: number; errors: number }> {
  const calls = new Map<string, { calls: number; errors: number }>();
  for (const line of text.split('\n')) {
    // % time, seconds, usecs/call, calls, [errors], syscall
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\S+)\s*$/.exec(line);
    if (!m || m[3] === 'total') continue;
    calls.set(m[3] as string, { calls: Number(m[1]), errors: Number(m[2] ?? 0) });
  }
  return calls;
}

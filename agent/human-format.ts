import { ROLES } from '../policy/roles.js';
import type { RfidStatus } from './card-recovery.js';
import type { StatusReport } from './status-report.js';

/** Human renderings of `status` and security events for the terminal. */

const onOff = (b: boolean): string => (b ? 'on' : 'off');

export function formatStatus(raw: unknown): string {
  const s = raw as StatusReport;
  const lines: string[] = [];
  lines.push(`ccguard ${s.version}, up ${s.uptimeSeconds} s`);
  lines.push(s.provisioned ? `provisioned (state generation ${s.stateGeneration})` : 'NOT PROVISIONED: run "ccguard provision"');
  if (s.provisioned) {
    lines.push('roles:');
    for (const role of ROLES) {
      const r = s.roles[role];
      if (!r) continue;
      const notes: string[] = [];
      if (r.isDefault) notes.push('default password');
      if (r.mustChange) notes.push('must change');
      if (r.failures > 0) notes.push(`${r.failures} failed attempt${r.failures === 1 ? '' : 's'}`);
      if (r.throttled) notes.push(`throttled for ${r.retryInSeconds} s`);
      lines.push(`  ${role.padEnd(13)}${notes.length > 0 ? notes.join(', ') : 'ok'}`);
    }
  }
  lines.push(`policy: strong passwords ${onOff(s.policy.enforceStrong)}, forced operator change ${onOff(s.policy.enforcePasswordChange)}`);
  const puk = s.puk.blocked ? 'blocked' : s.puk.set ? `set (${s.puk.triesLeft} tries left)` : 'not set';
  lines.push(`recovery: PUK ${puk}; ${s.masterCards} master card${s.masterCards === 1 ? '' : 's'}`);
  const readers = s.rfid.readers.map((r) => `${r.name}${r.cardPresent ? ' (card present)' : ''}`);
  lines.push(`readers: ${readers.length > 0 ? readers.join(', ') : 'none'}${s.rfid.hold ? `; hold: ${s.rfid.hold.remainingSeconds} s left` : ''}`);
  lines.push(`log password: ${s.logPasswordSet ? 'set' : 'not set'}; web interface ${s.webUi}; HTTPS ${onOff(s.https)}`);
  if (s.httpsCertificate) lines.push(`certificate SHA-256 ${s.httpsCertificate.sha256}, valid until ${s.httpsCertificate.notAfter}`);
  return lines.join('\n');
}

/** Columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatReaders(raw: unknown): string {
  const r = raw as RfidStatus;
  const lines: string[] = [];
  if (r.service !== 'up') lines.push(`PC/SC service ${r.service}${r.serviceError ? `: ${r.serviceError}` : ''}`);
  if (r.readers.length === 0) lines.push('no card reader attached');
  else lines.push(table(['READER', 'CARD'], r.readers.map((x) => [x.name, x.cardPresent ? (x.masterCard ? 'master card' : 'card') : '-'])));
  if (r.hold) lines.push(`master card hold on ${r.hold.reader}: ${r.hold.remainingSeconds} s left${r.hold.cardOnReader ? '' : ' (card off the reader)'}`);
  return lines.join('\n');
}

export function formatEvent(raw: unknown): string {
  const { time, event, ...rest } = raw as { time: string; event: string } & Record<string, unknown>;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time}  ${event}${fields ? `  ${fields}` : ''}`;
}

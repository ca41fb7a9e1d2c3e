import { ROLES } from '../../policy/roles.js';
import type { Style } from '../common/ansi-style.js';
import type { Severity } from '../../policy/audit.js';
import type { AuditReport } from '../wire/audit-report.js';
import type { RfidStatus } from '../wire/status-report.js';
import type { StatusReport } from '../wire/status-report.js';
import { visible, visibleDeep } from '../common/visible.js';

/**
 * Human renderings of `status` and security events for the terminal. Every string from the daemon
 * may carry what a client, a card or a file put there: each is made visible (control characters
 * escaped) before it is laid out or coloured, so only our own colour sequences reach the terminal.
 */

const onOff = (b: boolean): string => (b ? 'on' : 'off');

type Colour = (style: Style, text: string) => string;
const plain: Colour = (_style, text) => text;

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${seconds % 60} s` : `${seconds} s`;
}

/** `status` for support on the phone: the first questions, one aligned line each. */
export function formatStatus(raw: unknown, colour: Colour = plain): string {
  const s = visibleDeep(raw) as StatusReport;
  const warn = (text: string): string => colour('yellow', text);
  const rows: Array<[string, string]> = [];
  rows.push(['daemon', `ccguard ${s.version}, up ${duration(s.uptimeSeconds)}`]);
  rows.push(['provisioned', s.provisioned ? `yes (state generation ${s.stateGeneration})` : colour('red', 'NO: run "ccguard provision"')]);
  if (s.provisioned) {
    for (const role of ROLES) {
      const r = s.roles[role];
      const notes: string[] = [];
      if (r.isDefault) notes.push(warn('default password'));
      else if (r.mustChange) notes.push(warn('must change'));
      if (r.failures > 0) notes.push(`${r.failures} failed attempt${r.failures === 1 ? '' : 's'}`);
      if (r.throttled) notes.push(warn(`throttled for ${r.retryInSeconds} s`));
      rows.push([`role ${role}`, notes.length > 0 ? notes.join(', ') : 'ok']);
    }
  }
  rows.push(['password policy', `strong passwords ${onOff(s.policy.enforceStrong)}, forced operator change ${onOff(s.policy.enforcePasswordChange)}`]);
  const puk = s.puk.blocked ? warn('PUK blocked') : s.puk.set ? `PUK set (${s.puk.triesLeft} tries left)` : 'no PUK';
  const copyable = s.rfid.masterCards.filter((c) => c.kind === 'uidOnly').length;
  const cards = `${s.masterCards} master card${s.masterCards === 1 ? '' : 's'}${copyable > 0 ? warn(` (${copyable} UID-only: copyable)`) : ''}`;
  rows.push(['recovery', !s.puk.set && s.masterCards === 0 ? warn(`${puk}, ${cards}`) : `${puk}, ${cards}`]);
  const rfid = s.rfid;
  const readers = rfid.readers.map((r) => `${r.name}${r.cardPresent ? (r.masterCard ? ' (master card on it)' : ' (card on it)') : ''}`);
  rows.push([
    'card readers',
    rfid.service === 'up'
      ? readers.length > 0
        ? readers.join('; ')
        : 'none attached'
      : rfid.service === 'off'
        ? 'not watched (rfid.enabled is false)'
        : warn(`PC/SC ${rfid.service}${rfid.serviceError ? `: ${rfid.serviceError}` : ''}`),
  ]);
  if (rfid.enableCommand) rows.push(['to enable them', rfid.enableCommand]);
  if (rfid.hold)
    rows.push([
      'master card hold',
      colour('bold', `${rfid.hold.remainingSeconds} s left on ${rfid.hold.reader}${rfid.hold.cardOnReader ? '' : ' (card off the reader)'}`),
    ]);
  if (rfid.enrolling) rows.push(['enrolment', `waiting: ${rfid.enrolmentStep ?? 'placeCard'}`]);
  if (rfid.pendingEnrolment)
    rows.push(['enrolment cut off', warn(`on ${rfid.pendingEnrolment.reader} (${rfid.pendingEnrolment.startedAt}): present that card again`)]);
  if (rfid.cloneAttempts)
    rows.push(['clone attempts', warn(`${rfid.cloneAttempts.count}, last on ${rfid.cloneAttempts.lastReader} at ${rfid.cloneAttempts.lastAt}`)]);
  rows.push(['log password', s.logPasswordSet ? 'set' : warn('not set')]);
  rows.push(['web interface', s.webUi === '2.0-only' ? s.webUi : warn(s.webUi)]);
  rows.push(['HTTPS', s.https ? 'on' : warn('off')]);
  if (s.httpsCertificate) rows.push(['certificate', `SHA-256 ${s.httpsCertificate.sha256}, valid until ${s.httpsCertificate.notAfter}`]);
  rows.push(['sync', s.sync === null ? 'not a double station (no peer configured)' : s.sync.summary]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

const SEVERITY_STYLE: Record<Severity, Style> = { high: 'red', medium: 'yellow', low: 'cyan', info: 'gray' };

/** `audit`: the verdict, then each finding with what it means, the fix and the provision. */
export function formatAudit(raw: AuditReport, colour: Colour = plain): string {
  const report = visibleDeep(raw) as AuditReport;
  const { counts } = report;
  const verdict = report.passed ? colour('green', 'PASSED') : colour('red', 'FAILED');
  const lines = [`ccguard audit: ${verdict} — ${counts.high} high, ${counts.medium} medium, ${counts.low} low, ${counts.info} info`];
  for (const f of report.findings) {
    lines.push('');
    lines.push(`${colour(SEVERITY_STYLE[f.severity], f.severity.toUpperCase().padEnd(6))}  ${f.title}  [${f.id}]`);
    lines.push(`        ${f.meaning}${f.provision ? ` (${f.provision})` : ''}`);
    lines.push(`        fix: ${colour('bold', f.fix)}`);
  }
  return lines.join('\n');
}

/** Columns padded to their widest cell. */
export function table(rawHeader: string[], rawRows: string[][]): string {
  const header = rawHeader.map(visible);
  const rows = rawRows.map((r) => r.map(visible));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatReaders(raw: unknown): string {
  const r = visibleDeep(raw) as RfidStatus;
  const lines: string[] = [];
  if (r.service !== 'up') lines.push(`PC/SC service ${r.service}${r.serviceError ? `: ${r.serviceError}` : ''}`);
  if (r.enableCommand) lines.push(`to enable the card readers: ${r.enableCommand}`);
  if (r.readers.length === 0) lines.push('no card reader attached');
  else
    lines.push(
      table(
        ['READER', 'CARD'],
        r.readers.map((x) => [x.name, x.cardPresent ? (x.masterCard ? 'master card' : 'card') : '-']),
      ),
    );
  if (r.hold) lines.push(`master card hold on ${r.hold.reader}: ${r.hold.remainingSeconds} s left${r.hold.cardOnReader ? '' : ' (card off the reader)'}`);
  return lines.join('\n');
}

/** One event, one line: a newline or an escape sequence in a field cannot start another. */
export function formatEvent(raw: unknown): string {
  const { time, event, ...rest } = raw as { time: unknown; event: unknown } & Record<string, unknown>;
  const text = (v: unknown): string => visible(typeof v === 'string' ? v : String(JSON.stringify(v)));
  const fields = Object.entries(rest)
    .map(([k, v]) => `${visible(k)}=${text(v)}`)
    .join(' ');
  return `${text(time)}  ${text(event)}${fields ? `  ${fields}` : ''}`;
}

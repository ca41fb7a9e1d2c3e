/** The web interface mode (vendor's guide): 1.0 legacy default, 2.0, or 2.0-only (legacy disabled). */
export const WEB_UI_MODES = ['1.0', '2.0', '2.0-only'] as const;
export type WebUiMode = (typeof WEB_UI_MODES)[number];

/** The mode a style file's content stands for; an absent file is the built-in default. */
export function modeFromStyleFile(content: string | null): { mode: WebUiMode; recognised: boolean } {
  if (content === null) return { mode: '1.0', recognised: true };
  const value = content.trim();
  const mode = WEB_UI_MODES.find((m) => m === value);
  // The web server falls back to its default on content it does not know.
  return mode ? { mode, recognised: true } : { mode: '1.0', recognised: false };
}

export type ModeDecision = { allowed: true; change: boolean } | { allowed: false; reason: 'oneWay' };

/** 2.0-only is one-way through ccguard: only deleting the style file (the manufacturer, over SSH) undoes it. */
export function decideModeChange(current: WebUiMode, requested: WebUiMode): ModeDecision {
  if (current === '2.0-only' && requested !== '2.0-only') return { allowed: false, reason: 'oneWay' };
  return { allowed: true, change: current !== requested };
}

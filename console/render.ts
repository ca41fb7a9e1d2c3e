import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

/** Templates and static files ship beside the compiled code (dist/console/… → console/views). */
export const VIEWS_DIR = fileURLToPath(new URL('../../console/views/', import.meta.url));
export const STATIC_DIR = new URL('../../console/static/', import.meta.url);

/**
 * Eta templates, compiled once and cached. `autoEscape` is on (Eta's default, set here so it
 * cannot be turned off by accident): `<%= %>` escapes every value; the templates never use the
 * raw form `<%~ %>` but for including another template.
 */
export class Renderer {
  readonly #eta = new Eta({ views: VIEWS_DIR, autoEscape: true, autoTrim: [false, 'nl'], cache: true, useWith: false, varName: 'it' });

  render(view: string, data: Record<string, unknown>): string {
    return this.#eta.render(`./${view}`, data);
  }
}

import { mayPerform, PERMISSIONS, ROLES, type Access, type Action, type Role, type RolesFor } from '../../../policy/roles.js';
import { RefusedError } from '../../common/errors.js';
import { Secret } from '../../common/secret.js';
import { methods, type AccessOf, type Method, type ParamsOf, type ResultOf } from '../../wire/protocol.js';
import type { Actor, Authenticator } from '../credentials/authenticator.js';
import type { Handlers, RequestContext } from '../socket/index.js';

/**
 * What a method's handler is given: nothing for an open method, else an `Actor` whose role is one
 * the method's action allows (dispatch checked it against the permission table).
 */
export type ActorOf<M extends Method> = AccessOf<M> extends { action: infer A extends Action } ? Actor<RolesFor<A>> : null;

/** Handlers as the areas write them: called only once the caller has been authenticated. */
export type ActingHandlers = {
  [M in Method]: (params: ParamsOf<M>, ctx: RequestContext, actor: ActorOf<M>) => Promise<ResultOf<M>>;
};

/**
 * Authentication once, at dispatch: each method's contract entry says who may call it, the
 * permission table decides before any secret is checked, and the Authenticator turns the secret
 * into the `Actor` the handler gets. No handler sees a request whose secret was not verified.
 */
export function authenticateAtDispatch(handlers: ActingHandlers, authenticator: Authenticator): Handlers {
  const entries = (Object.keys(methods) as Method[]).map((method) => {
    const handler = handlers[method] as (params: unknown, ctx: RequestContext, actor: Actor | null) => Promise<unknown>;
    const access: Access = methods[method].auth;
    const authenticated = async (params: Record<string, unknown>, ctx: RequestContext): Promise<unknown> =>
      handler(params, ctx, await actorFor(method, access, params, authenticator));
    return [method, authenticated];
  });
  return Object.fromEntries(entries) as unknown as Handlers;
}

async function actorFor(method: Method, access: Access, params: Record<string, unknown>, authenticator: Authenticator): Promise<Actor | null> {
  switch (access.kind) {
    case 'open':
      return null;
    case 'puk':
      return authenticator.puk(secretParam(method, params, access.secret));
    case 'password': {
      const role = access.roleFrom === 'role' || access.roleFrom === 'as' ? roleParam(method, params, access.roleFrom) : access.roleFrom;
      if (!mayPerform(role, access.action)) {
        throw new RefusedError(`${role} may not call ${method}; it is for ${PERMISSIONS[access.action].join(', ')}`);
      }
      return authenticator.password(role, secretParam(method, params, access.secret), access.mustChange === 'allow');
    }
    case 'session': {
      const { actor } = authenticator.session(secretParam(method, params, access.token), access.mustChange === 'allow', access.use !== 'peek');
      if (!mayPerform(actor.role, access.action)) {
        throw new RefusedError(`${actor.role} may not call ${method}; it is for ${PERMISSIONS[access.action].join(', ')}`);
      }
      const reauth = access.reauth;
      if (!reauth || (reauth.when && !reauth.when.values.includes(String(params[reauth.when.param])))) return actor;
      // A sensitive action: the password again, checked (and throttled) as any other.
      if (params[reauth.secret] === undefined) {
        throw new RefusedError(
          `${method}${reauth.when ? ` with ${reauth.when.param} ${String(params[reauth.when.param])}` : ''} needs the ${actor.role} password again`,
        );
      }
      return authenticator.password(actor.role, secretParam(method, params, reauth.secret), access.mustChange === 'allow');
    }
  }
}

// The contract's schemas have already validated the params: these only guard against a contract
// entry that names the wrong parameter (a programming error, caught by test/unit/wire/protocol).
function secretParam(method: Method, params: Record<string, unknown>, name: string): Secret {
  const value = params[name];
  if (!(value instanceof Secret)) throw new Error(`contract of ${method}: parameter ${name} is not a secret`);
  return value;
}

function roleParam(method: Method, params: Record<string, unknown>, name: string): Role {
  const value = params[name];
  if (!(ROLES as readonly unknown[]).includes(value)) throw new Error(`contract of ${method}: parameter ${name} is not a role`);
  return value as Role;
}

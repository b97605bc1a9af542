import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import clientFrames from '../../protocol/client-frames.schema.json' with { type: 'json' };
import consoleFrames from '../../protocol/console.schema.json' with { type: 'json' };
import serverFrames from '../../protocol/server-frames.schema.json' with { type: 'json' };
import rest from '../../protocol/rest.schema.json' with { type: 'json' };
import type { BroadcastData, ResponseData, SigninData, SubscribeData, UnsubscribeData } from './frames.js';

/**
 * The compiled validators of protocol/*.schema.json. Compiled once when this module loads; the hot
 * paths only call the returned functions.
 */
const ajv = new Ajv2020({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
ajv.addSchema([clientFrames, serverFrames, rest, consoleFrames]);

function compiled<T>(ref: string): ValidateFunction<T> {
  const fn = ajv.getSchema<T>(ref);
  if (!fn) throw new Error(`schema ${ref} is missing from protocol/`);
  return fn;
}

export const validators = {
  subscribeData: compiled<SubscribeData>('client-frames.schema.json#/$defs/subscribeData'),
  unsubscribeData: compiled<UnsubscribeData>('client-frames.schema.json#/$defs/unsubscribeData'),
  signinData: compiled<SigninData>('client-frames.schema.json#/$defs/signinData'),
  broadcastData: compiled<BroadcastData>('client-frames.schema.json#/$defs/broadcastData'),
  responseData: compiled<ResponseData>('client-frames.schema.json#/$defs/responseData'),
  clientEvent: compiled('client-frames.schema.json#/$defs/clientEvent'),
  clientFrame: compiled('client-frames.schema.json'),
  serverFrame: compiled('server-frames.schema.json'),
  trigger: compiled('rest.schema.json#/$defs/trigger'),
  batchItem: compiled('rest.schema.json#/$defs/batchItem'),
  restBroadcast: compiled('rest.schema.json#/$defs/broadcast'),
  restResponse: compiled('rest.schema.json#/$defs/response'),
  consoleSignIn: compiled<{ appId: string; secret: string }>('console.schema.json#/$defs/signIn'),
  consoleFrame: compiled('console.schema.json#/$defs/socketFrame'),
};

/** The longest request_id a broadcast may carry (protocol/client-frames.schema.json). */
export const MAX_REQUEST_ID_LENGTH = clientFrames.$defs.broadcastData.properties.request_id.maxLength;

/** The longest channel name a refusal echoes (protocol/server-frames.schema.json, the error frame's `channel`). */
export const MAX_ECHOED_CHANNEL_LENGTH = serverFrames.$defs.error.properties.data.contentSchema.properties.channel.maxLength;

/** Validators by JSON pointer into a schema file, for tests and tooling (e.g. a `contentSchema`). */
export function validatorFor(ref: string): ValidateFunction {
  return compiled(ref);
}

/** How a channel-name pattern failure reads, on WebSocket and REST alike. */
export const CHANNEL_NAME_RULE = 'must be one or more of letters, digits and - _ = @ , . ; (or a channel ID)';

/**
 * One line naming where the input is wrong, e.g. `data.channel must match pattern "..."`.
 * `root` names the validated value in the message ("data", "body", "config").
 */
export function describeErrors(errors: ErrorObject[] | null | undefined, root: string): string {
  const first = errors?.[0];
  if (!first) return `${root} is invalid`;
  const path = first.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('');
  if (first.keyword === 'required') return `${root}${path}.${String(first.params.missingProperty)} is required`;
  if (first.keyword === 'additionalProperties') return `${root}${path} has an unknown property "${String(first.params.additionalProperty)}"`;
  const message = first.schemaPath.endsWith('/channelName/pattern') ? CHANNEL_NAME_RULE : (first.message ?? 'is invalid');
  return `${root}${path} ${message}`;
}

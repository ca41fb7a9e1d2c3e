import fc from 'fast-check';
import t from 'tap';
import { decodeRequest } from '../../../../agent/daemon/socket/decode.js';
import { Secret } from '../../../../agent/common/secret.js';
import { isMethod } from '../../../../agent/wire/protocol.js';

t.test('any line decodes to a request or a named refusal; it never throws', async () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json()), (line) => {
      const decoded = decodeRequest(line);
      return decoded.ok ? isMethod(decoded.request.method) : decoded.invalid.message.length > 0;
    }),
  );
});

t.test('a refusal never quotes what was sent', async () => {
  const token = fc.stringMatching(/^[A-Za-z]{12,20}$/);
  fc.assert(
    fc.property(token, token, (method, field) => {
      const decoded = decodeRequest(JSON.stringify({ v: 1, id: 1, method, params: { [field]: method } }));
      const alsoParams = decodeRequest(JSON.stringify({ v: 1, id: 1, method: 'status', params: { x: field } }));
      return !decoded.ok && !decoded.invalid.message.includes(method) && !alsoParams.ok && !alsoParams.invalid.message.includes(field);
    }),
  );
});

t.test("a valid request's params are the schema's output: secrets as Secret", async (t) => {
  const decoded = decodeRequest(JSON.stringify({ v: 1, id: 'a', method: 'login', params: { role: 'operator', password: 'pw' }, origin: 'cli' }));
  t.ok(decoded.ok);
  if (!decoded.ok) return;
  t.match(decoded.request, { id: 'a', method: 'login', origin: 'cli' });
  t.ok((decoded.request.params as { password: unknown }).password instanceof Secret);
});

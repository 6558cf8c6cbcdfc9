import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { createHash } from 'node:crypto';
const b64u = (b) => Buffer.from(b).toString('base64url');
const out = { source: "@noble/post-quantum 0.7.1 (npm), ML-DSA (FIPS 204 Algorithm 2, pure, empty context), hedged signing", vectors: [] };
for (const [alg, impl] of [['ML-DSA-44', ml_dsa44], ['ML-DSA-65', ml_dsa65], ['ML-DSA-87', ml_dsa87]]) {
  const seed = createHash('sha256').update('tokengate interop ' + alg).digest();
  const { publicKey, secretKey } = impl.keygen(new Uint8Array(seed));
  const header = JSON.stringify({ alg, kid: 'noble-' + alg.slice(-2), typ: 'JWT' });
  const payload = JSON.stringify({ iss: 'https://noble.example', sub: 'interop', aud: 'tokengate', iat: 1767225600, exp: 4102444800 });
  const input = b64u(Buffer.from(header)) + '.' + b64u(Buffer.from(payload));
  const sig = impl.sign(new TextEncoder().encode(input), secretKey);
  if (!impl.verify(sig, new TextEncoder().encode(input), publicKey)) throw new Error('self-verify');
  out.vectors.push({ alg, seed: seed.toString('hex'), jwk: { kty: 'AKP', alg, pub: b64u(publicKey) }, jws: input + '.' + b64u(sig) });
}
console.log(JSON.stringify(out, null, 2));

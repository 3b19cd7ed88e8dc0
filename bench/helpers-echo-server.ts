/**
 * Control servers for the API bench, run as their own process:
 * `helpers-echo-server.ts express|http <port>` answers POST /transactions {tx}
 * with {txid} without validating anything, so the bench can show what this
 * machine gives for the HTTP layer alone (express 5 with its JSON parser, or
 * bare node:http) next to what the node achieves.
 */
import http from 'node:http';
import express from 'express';

const [kind, portArg] = process.argv.slice(2);
const port = Number(portArg);

function answer(body: unknown): string {
  const tx = (body as { tx?: unknown }).tx;
  return JSON.stringify({ txid: typeof tx === 'string' ? tx.slice(0, 64) : '' });
}

let server: http.Server;
if (kind === 'express') {
  const app = express();
  app.use(express.json({ limit: '4mb' }));
  app.post('/transactions', (req, res) => {
    res.type('json').send(answer(req.body));
  });
  server = app.listen(port, '127.0.0.1');
} else {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const out = answer(JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  server.listen(port, '127.0.0.1');
}
server.keepAliveTimeout = 65_000;
server.on('listening', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

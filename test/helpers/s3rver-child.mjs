// Runs s3rver for test/helpers/s3.ts in its own process: `node --openssl-legacy-provider
// s3rver-child.mjs <directory>`. s3rver signs ListObjectsV2 continuation tokens with DES,
// which Node 20's OpenSSL 3 offers only with the legacy provider, a whole-process switch.
// Prints {"port":N} once listening; exits when its stdin closes.
import S3rver from 's3rver';

const directory = process.argv[2];
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  server.close().finally(() => process.exit(0));
});

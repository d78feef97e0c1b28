// Starts `fleetmcp serve` for the Node-driven tests (tests/e2e,
// tests/conformance): a free loopback port (MCP_PORT=0, or `port` when the
// test must know it first), the environment and arguments given, resolved
// once the listening line names the port. `audit` collects the lines (one
// JSON object each) the server writes to stdout.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export async function serve(bin, { args = [], env, port = 0 }) {
  const child = spawn(bin, ['serve', ...args], {
    env: { ...env, MCP_HOST: '127.0.0.1', MCP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // If the test process dies first, don't leave the server running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const audit = [];
  createInterface({ input: child.stdout }).on('line', (line) => audit.push(line));

  const stderr = [];
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('no listening line within 15 s'), 15000);
    function fail(why) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`fleetmcp serve ${args.join(' ')}: ${why}\n${stderr.join('\n')}`));
    }
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code) => fail(`exited with ${code} before listening`));
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr.push(line);
      const m = /listening on http:\/\/[^\s]+:(\d+)\/mcp/.exec(line);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(`http://127.0.0.1:${m[1]}/mcp`);
      }
    });
  });

  return {
    url,
    audit,
    stderr,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

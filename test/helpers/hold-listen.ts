// Preloaded into a `serve` child (`--import` this file) by tests that need a
// signal to land while the server is starting: the first listen() of any
// server waits until the parent writes a line to the child's stdin, and
// "held: listen" on stderr says it is waiting. Start-up is held at a known
// point whatever the machine's speed, and only the test sets the hold.
import net from 'node:net';

const listen = net.Server.prototype.listen;
let held = false;
net.Server.prototype.listen = function holdFirstListen(this: net.Server, ...args: unknown[]) {
  if (held) return listen.apply(this, args as Parameters<typeof listen>);
  held = true;
  process.stderr.write('held: listen\n');
  process.stdin.once('data', () => {
    process.stdin.pause();
    listen.apply(this, args as Parameters<typeof listen>);
  });
  return this;
} as typeof listen;

// Loaded with `node --import` into an sgas process under test: kills it with SIGKILL at one moment
// of its n-th checkpoint write, as SGAS_TEST_CRASH=STAGE:N[:FRACTION] names it:
//   data      after FRACTION of the checkpoint's bytes reached its temp file
//   previous  once the old checkpoint.bin is checkpoint.prev.bin, before the new one is renamed in
//   renamed   once the new checkpoint.bin is in place, before its folder is synced
// It wraps node:fs's functions the writer uses (syncBuiltinESMExports makes ESM imports see them).
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const [stage, nth, fraction] = process.env.SGAS_TEST_CRASH.split(':');
const die = () => process.kill(process.pid, 'SIGKILL');
const { openSync, writeSync, renameSync } = fs;
let writes = 0;
let target = null;

fs.openSync = (path, ...rest) => {
  const fd = openSync(path, ...rest);
  if (/checkpoint\.bin\.\d+\.tmp$/.test(String(path)) && ++writes === Number(nth)) target = fd;
  return fd;
};
fs.writeSync = (fd, buffer, offset, length, ...rest) => {
  if (stage === 'data' && fd === target) {
    writeSync(fd, buffer, offset, Math.floor(length * Number(fraction)));
    die();
  }
  return writeSync(fd, buffer, offset, length, ...rest);
};
fs.renameSync = (from, to) => {
  renameSync(from, to);
  if (writes === Number(nth) && String(to).endsWith(stage === 'previous' ? 'checkpoint.prev.bin' : 'checkpoint.bin') && stage !== 'data') die();
};
syncBuiltinESMExports();

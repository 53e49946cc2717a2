// Preloaded into the controller by `--cpu-prof` (NODE_OPTIONS=--import, which refuses --cpu-prof
// itself): samples the whole process with the inspector and writes a .cpuprofile when it exits.
// SIGUSR2 writes the samples so far to controller-<pid>-window.cpuprofile and starts afresh, so a
// benchmark can profile exactly one phase.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.PORTICO_BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  const write = (suffix) =>
    // A same-thread inspector session answers synchronously.
    session.post('Profiler.stop', (err, result) => {
      if (!err)
        writeFileSync(
          join(dir, `controller-${process.pid}${suffix}.cpuprofile`),
          JSON.stringify(result.profile),
        );
    });
  process.on('SIGUSR2', () => {
    write('-window');
    session.post('Profiler.start');
  });
  process.on('exit', () => write(''));
}

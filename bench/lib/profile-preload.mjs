// Preloaded into the controller by `--cpu-prof` (NODE_OPTIONS=--import, which refuses --cpu-prof
// itself): samples the whole process with the inspector and writes a .cpuprofile when it exits.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.PORTICO_BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    // A same-thread inspector session answers synchronously, so this runs before the process ends.
    session.post('Profiler.stop', (err, result) => {
      if (!err)
        writeFileSync(join(dir, `controller-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

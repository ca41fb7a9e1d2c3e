// Runs the strength estimator in its own thread, so that its ~80 MB of dictionaries are
// released when the thread exits instead of staying in the daemon for good.
import { parentPort } from 'node:worker_threads';
import { loadStrengthEstimator } from '../../../policy/strength.js';

interface Job {
  id: number;
  password: string;
  userInputs: string[];
}

const port = parentPort;
if (port === null) throw new Error('strength-worker must run as a worker thread');
const estimate = await loadStrengthEstimator();
port.on('message', (job: Job) => {
  port.postMessage({ id: job.id, score: estimate(job.password, job.userInputs) });
});

/**
 * A scoring worker of `migrec serve` (a worker thread): loads its own copy of the model file,
 * checks it is the file the server loaded (same id), then answers batches of users with the JSON
 * text of each user's answer (`recommendBatch` in this thread, so the lists are those of
 * `migrec recommend`), and folds in the behaviour the server folds into its own copy, in the
 * order it was sent. Messages are handled one at a time: a fold sent after a batch applies after it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadModel, StorageError, type Recommender } from '../../index.js';
import { describeFailure } from './http.js';
import type { FromWorker, ToWorker, WorkerSetup } from './scoring.js';
import { answerText, fileId } from './shared.js';

const port = parentPort!;
const setup = workerData as WorkerSetup;
const send = (message: FromWorker) => port.postMessage(message);

async function start(): Promise<Recommender> {
  const id = await fileId(setup.path);
  const model = await loadModel(setup.path);
  if (id !== setup.id) {
    await model.close();
    throw new StorageError(`${setup.path} changed while it was being loaded (id ${id}, the server loaded ${setup.id}); reload again`);
  }
  return model;
}

function serve(model: Recommender): void {
  port.on('message', (m: ToWorker) => {
    if (m.t === 'fold') {
      try {
        model.foldIn(m.user, m.events);
      } catch (e) {
        send({ t: 'fold-failed', error: describeFailure(e) });
      }
      return;
    }
    model.recommendBatch(m.users, m.options).then(
      (lists) => send({ t: 'done', job: m.job, texts: m.users.map((u, i) => answerText(u, lists.get(i))) }),
      (e: unknown) => send({ t: 'error', job: m.job, error: describeFailure(e) }),
    );
  });
  send({ t: 'ready' });
}

// Nothing listens after a failed start: the thread ends once the failure is sent.
start().then(serve, (e: unknown) => send({ t: 'failed', error: describeFailure(e) }));

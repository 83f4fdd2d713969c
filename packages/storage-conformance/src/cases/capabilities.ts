/**
 * Capabilities: the declared flags, the caller's clock, and wake-ups for stores that notify.
 *
 * @module
 */

import type { JobStore, WakeSubscription } from '@again/storage';
import { CLOCK_MESSAGE, must, newJob, type SuiteContext, T0, wakeCollector } from '../harness.js';

/** `store.subscribe` when the store declares `notifies`, else `undefined` (the case then passes). */
function subscribeOf(store: JobStore): JobStore['subscribe'] {
  return store.capabilities.notifies ? store.subscribe?.bind(store) : undefined;
}

/** Registers the capability cases. */
export function capabilityCases({ describe, test, expect }: SuiteContext): void {
  describe('capabilities', () => {
    test(
      "create() returns a store that follows the caller's times (capabilities.clock is false)",
      async ({ store }) => {
        if (store.capabilities.clock !== false) throw new Error(CLOCK_MESSAGE);
      },
      { anyClock: true },
    );

    test(
      'capabilities are booleans, and subscribe exists exactly when notifies is true',
      async ({ store }) => {
        const capabilities = store.capabilities as unknown as Record<string, unknown>;
        for (const key of ['shared', 'notifies', 'clock']) {
          expect({ key, type: typeof capabilities[key] }).toEqual({ key, type: 'boolean' });
        }
        expect({ subscribe: typeof store.subscribe === 'function' }).toEqual({
          subscribe: store.capabilities.notifies,
        });
      },
      { anyClock: true },
    );

    test('when notifies: createJob with a due time wakes a subscriber with the job and its time', async ({
      store,
    }) => {
      const subscribe = subscribeOf(store);
      if (subscribe === undefined) return;
      const wakes = wakeCollector();
      const subscription = await subscribe(wakes.listener);
      try {
        await store.createJob(newJob('job-1', { nextRunAt: T0 + 5000 }));
        expect(await wakes.next('job-1')).toEqual({ jobId: 'job-1', at: T0 + 5000 });
        // A job re-created over a terminal one is created too.
        await store.endJob('job-1', 'removed', T0 + 1);
        await store.createJob(newJob('job-1', { nextRunAt: T0 + 7000, now: T0 + 2 }));
        expect(await wakes.next('job-1', T0 + 7000)).toEqual({ jobId: 'job-1', at: T0 + 7000 });
      } finally {
        await subscription.close();
      }
    });

    test('when notifies: a subscriber on another instance is woken', async ({ instances }) => {
      const [store, peer] = await instances(2);
      const subscribe = subscribeOf(must(peer, 'a peer'));
      if (subscribe === undefined) return;
      const wakes = wakeCollector();
      const subscription = await subscribe(wakes.listener);
      try {
        await must(store, 'the store').createJob(newJob('job-1', { nextRunAt: T0 + 5000 }));
        expect(await wakes.next('job-1')).toEqual({ jobId: 'job-1', at: T0 + 5000 });
      } finally {
        await subscription.close();
      }
    });

    test('when notifies: resuming a job and updating a job that is not paused wake a subscriber with its nextRunAt', async ({
      instances,
    }) => {
      const [store, peer] = await instances(2);
      const subscribe = subscribeOf(must(peer, 'a peer'));
      if (subscribe === undefined) return;
      const first = must(store, 'the store');
      const wakes = wakeCollector();
      const subscription = await subscribe(wakes.listener);
      try {
        await first.createJob(newJob('job-1', { nextRunAt: T0 + 5000 }));
        await first.createJob(newJob('job-2', { nextRunAt: T0 + 5000 }));
        await wakes.next('job-2', T0 + 5000);
        await first.pauseJob('job-1', T0 + 1);
        await first.resumeJob('job-1', T0 + 2);
        expect(await wakes.next('job-1', T0 + 5000)).toEqual({ jobId: 'job-1', at: T0 + 5000 });
        await first.updateJob({
          id: 'job-1',
          expectedRevision: 0,
          spec: {},
          nextRunAt: T0 + 3000,
          now: T0 + 3,
        });
        expect(await wakes.next('job-1', T0 + 3000)).toEqual({ jobId: 'job-1', at: T0 + 3000 });
        // An update of a paused job wakes nobody: once a later wake-up arrived, it would have too.
        await first.pauseJob('job-2', T0 + 4);
        await first.updateJob({
          id: 'job-2',
          expectedRevision: 0,
          spec: {},
          nextRunAt: T0 + 2000,
          now: T0 + 5,
        });
        await first.createJob(newJob('job-3', { nextRunAt: T0 + 9000 }));
        await wakes.next('job-3', T0 + 9000);
        expect(
          wakes.seen.filter((wake) => wake.jobId === 'job-2' && wake.at === T0 + 2000),
        ).toEqual([]);
      } finally {
        await subscription.close();
      }
    });

    test('when notifies: a closed subscription hears nothing more; close() is idempotent', async ({
      store,
    }) => {
      const subscribe = subscribeOf(store);
      if (subscribe === undefined) return;
      const closed = wakeCollector();
      const witness = wakeCollector();
      const subscription = await subscribe(closed.listener);
      const witnessSubscription = await subscribe(witness.listener);
      try {
        await store.createJob(newJob('job-1'));
        await closed.next('job-1');
        await witness.next('job-1');
        await subscription.close();
        await subscription.close();
        await store.createJob(newJob('job-2'));
        await store.createJob(newJob('job-3'));
        // Once the open subscription heard both, the closed one would have heard them too.
        await witness.next('job-2');
        await witness.next('job-3');
        expect(closed.seen.filter((wake) => wake.jobId !== 'job-1')).toEqual([]);
      } finally {
        await witnessSubscription.close();
      }
    });

    test('when notifies: a throwing listener breaks neither the store nor other listeners', async ({
      store,
    }) => {
      const subscribe = subscribeOf(store);
      if (subscribe === undefined) return;
      const throwing = wakeCollector();
      const witness = wakeCollector();
      const subscriptions: WakeSubscription[] = [];
      try {
        subscriptions.push(
          await subscribe((wake) => {
            throwing.listener(wake);
            throw new Error('conformance: a listener that throws');
          }),
        );
        subscriptions.push(await subscribe(witness.listener));
        await store.createJob(newJob('job-1'));
        await throwing.next('job-1');
        await witness.next('job-1');
        // The throwing listener is still called, and the store still works.
        await store.createJob(newJob('job-2'));
        await throwing.next('job-2');
        await witness.next('job-2');
        expect(await store.jobIds()).toEqual(['job-1', 'job-2']);
      } finally {
        for (const subscription of subscriptions) await subscription.close();
      }
    });
  });
}

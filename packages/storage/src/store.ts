/**
 * `createJobStore`: the one place that enforces the storage contract for every adapter.
 *
 * @module
 */

import { Checks, STORAGE_LIMITS } from './checks.js';
import type {
  ClaimedRunRow,
  DriverCompletion,
  DueRow,
  JobRow,
  RunRow,
  StoreDriver,
} from './driver.js';
import { JobExistsError, StorageError } from './errors.js';
import { jsonObjectText, parseJsonObject } from './json.js';
import type {
  CallbackRecord,
  ClaimedRun,
  DueClaim,
  DueClaimResult,
  DueJob,
  DuePlan,
  ExpiredRunsClaim,
  HistoryQuery,
  HistoryRetention,
  JobQuery,
  JobRecord,
  JobRetention,
  JobState,
  JobStore,
  JobUpdate,
  LeaseRelease,
  LeaseRenewal,
  LeaseRenewalRequest,
  NewJob,
  RunCompletion,
  RunRecord,
  RunStart,
  SkippedOccurrence,
  StoreCapabilities,
  TakenOverRun,
  TerminalJobState,
  WakeEvent,
  WakeSubscription,
} from './types.js';

const DRIVER_METHODS = [
  'createJob',
  'getJob',
  'queryJobs',
  'countJobs',
  'jobIds',
  'endJob',
  'pauseJob',
  'resumeJob',
  'updateJob',
  'startRun',
  'nextDueAt',
  'claimDue',
  'renewLeases',
  'completeRuns',
  'claimExpiredRuns',
  'releaseLeases',
  'recordCallback',
  'getRun',
  'history',
  'runningRuns',
  'pruneHistory',
  'pruneJobs',
  'close',
] as const;

const FINISHED_STATUSES: ReadonlySet<unknown> = new Set([
  'succeeded',
  'failed',
  'canceled',
  'abandoned',
]);

function toRun(row: RunRow, operation: string): RunRecord {
  return {
    jobId: row.jobId,
    scheduledAt: row.scheduledAt,
    occurrenceId: row.occurrenceId,
    sequence: row.sequence,
    fence: row.fence,
    status: row.status,
    trigger: row.trigger,
    owner: row.owner,
    leaseUntil: row.leaseUntil,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    reason: row.reason,
    result:
      row.result === null
        ? null
        : parseJsonObject(row.result, operation, `the result of run "${row.occurrenceId}"`),
    callback:
      row.callback === null
        ? null
        : parseJsonObject(row.callback, operation, `the callback of run "${row.occurrenceId}"`),
  };
}

function toJob(row: JobRow, operation: string): JobRecord {
  return {
    id: row.id,
    spec: parseJsonObject(row.spec, operation, `the spec of job "${row.id}"`),
    revision: row.revision,
    state: row.state,
    nextRunAt: row.nextRunAt,
    fence: row.fence,
    sequence: row.sequence,
    started: row.started,
    runs: row.runs,
    activeRuns: row.activeRuns,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastRun: row.lastRun === null ? null : toRun(row.lastRun, operation),
  };
}

function toClaimedRun(run: ClaimedRunRow): ClaimedRun {
  return {
    jobId: run.jobId,
    createdAt: run.createdAt,
    revision: run.revision,
    scheduledAt: run.scheduledAt,
    occurrenceId: run.occurrenceId,
    sequence: run.sequence,
    fence: run.fence,
    startedAt: run.startedAt,
    leaseUntil: run.leaseUntil,
  };
}

/** The planner's view of a due row: the spec is parsed on first read. */
class DueJobView implements DueJob {
  readonly id: string;
  readonly createdAt: number;
  readonly revision: number;
  readonly nextRunAt: number;
  readonly started: number;
  readonly activeRuns: number;
  readonly specText: string;
  #spec: DueJob['spec'] | undefined;

  constructor(row: DueRow) {
    this.id = row.id;
    this.createdAt = row.createdAt;
    this.revision = row.revision;
    this.nextRunAt = row.nextRunAt;
    this.started = row.started;
    this.activeRuns = row.activeRuns;
    this.specText = row.spec;
  }

  get spec(): DueJob['spec'] {
    this.#spec ??= parseJsonObject(this.specText, 'claimDue', `the spec of job "${this.id}"`);
    return this.#spec;
  }
}

/** Checks a plan returned by the planner and copies it (the planner keeps no reference). */
function checkPlan(plan: unknown, jobId: string): DuePlan {
  const where = `the plan of job "${jobId}"`;
  const check = new Checks('claimDue');
  const p = check.object(where, plan);
  const times = new Set<unknown>();
  const ids = new Set<unknown>();
  const entry = (name: string, value: unknown): { scheduledAt: number; occurrenceId: string } => {
    const e = check.object(name, value);
    const scheduledAt = check.time(`${name}.scheduledAt`, e.scheduledAt);
    const occurrenceId = check.text(`${name}.occurrenceId`, e.occurrenceId);
    check.unique(`${where} (scheduledAt)`, times, scheduledAt);
    check.unique(`${where} (occurrenceId)`, ids, occurrenceId);
    return { scheduledAt, occurrenceId };
  };
  const skipped: SkippedOccurrence[] = [];
  const list = check.array(`${where}.skipped`, p.skipped, STORAGE_LIMITS.batch);
  for (const [index, item] of list.entries()) {
    const name = `${where}.skipped[${index}]`;
    skipped.push({
      ...entry(name, item),
      reason: check.text(`${name}.reason`, (item as { reason?: unknown }).reason, true),
    });
  }
  const run = p.run === null ? null : entry(`${where}.run`, p.run);
  const nextRunAt = check.timeOrNull(`${where}.nextRunAt`, p.nextRunAt);
  return { run, skipped, nextRunAt };
}

/** The store every adapter gets: the driver behind the contract's checks, lifecycle and errors. */
class RuntimeStore implements JobStore {
  readonly capabilities: StoreCapabilities;
  readonly subscribe?: (listener: (wake: WakeEvent) => void) => Promise<WakeSubscription>;
  readonly #driver: StoreDriver;
  readonly #pending = new Set<Promise<unknown>>();
  #closing: Promise<void> | null = null;

  constructor(driver: StoreDriver) {
    this.#driver = driver;
    const c = driver.capabilities;
    this.capabilities = Object.freeze({ shared: c.shared, notifies: c.notifies, clock: c.clock });
    if (c.notifies) {
      this.subscribe = (listener) => this.#subscribe(listener);
    }
  }

  /** Throws `ERR_STORAGE_CLOSED` once `close()` was called. */
  #ensureOpen(operation: string): void {
    if (this.#closing !== null) {
      throw new StorageError(operation, 'the store is closed', { code: 'ERR_STORAGE_CLOSED' });
    }
  }

  /** Runs a driver call: refused once closed, tracked for `close()`, its failures typed. */
  async #call<T>(operation: string, body: () => Promise<T>): Promise<T> {
    this.#ensureOpen(operation);
    let running: Promise<T>;
    try {
      running = Promise.resolve(body());
    } catch (error) {
      // A driver method that throws before returning its promise fails the same way.
      running = Promise.reject(error);
    }
    this.#pending.add(running);
    try {
      return await running;
    } catch (error) {
      if (error instanceof StorageError || error instanceof JobExistsError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new StorageError(operation, message, { cause: error });
    } finally {
      this.#pending.delete(running);
    }
  }

  async #subscribe(listener: (wake: WakeEvent) => void): Promise<WakeSubscription> {
    if (typeof listener !== 'function') {
      new Checks('subscribe').fail('listener must be a function');
    }
    const subscribe = this.#driver.subscribe;
    return this.#call('subscribe', async () => {
      if (subscribe === undefined) {
        throw new Error('the driver declares notifies without subscribe');
      }
      return subscribe.call(this.#driver, (wake) => {
        try {
          listener({ jobId: wake.jobId, at: wake.at });
        } catch {
          // A listener's failure is its own; notifications are hints.
        }
      });
    });
  }

  async createJob(job: NewJob): Promise<JobRecord> {
    const check = new Checks('createJob');
    const j = check.object('job', job);
    const row = {
      id: check.text('job.id', j.id),
      spec: jsonObjectText(j.spec, 'createJob', 'job.spec'),
      nextRunAt: check.timeOrNull('job.nextRunAt', j.nextRunAt),
      now: check.time('job.now', j.now),
    };
    return toJob(await this.#call('createJob', () => this.#driver.createJob(row)), 'createJob');
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const checked = new Checks('getJob').text('id', id);
    const row = await this.#call('getJob', () => this.#driver.getJob(checked));
    return row === undefined ? undefined : toJob(row, 'getJob');
  }

  async queryJobs(query: JobQuery = {}): Promise<JobRecord[]> {
    const check = new Checks('queryJobs');
    const q = check.object('query', query);
    const ids =
      q.ids === undefined
        ? []
        : check
            .array('query.ids', q.ids, Number.MAX_SAFE_INTEGER)
            .map((id, index) => check.text(`query.ids[${index}]`, id));
    const states = check.states('query.states', q.states);
    const offset = check.positiveOrNone('query.offset', q.offset) ?? 0;
    const limit = check.positiveOrNone('query.limit', q.limit);
    const rows = await this.#call('queryJobs', () =>
      this.#driver.queryJobs({ ids: [...new Set(ids)], states, offset, limit }),
    );
    return rows.map((row) => toJob(row, 'queryJobs'));
  }

  async countJobs(states?: readonly JobState[]): Promise<number> {
    const checked = new Checks('countJobs').states('states', states);
    return this.#call('countJobs', () => this.#driver.countJobs(checked));
  }

  async jobIds(states?: readonly JobState[]): Promise<string[]> {
    const checked = new Checks('jobIds').states('states', states);
    return this.#call('jobIds', () => this.#driver.jobIds(checked));
  }

  async endJob(id: string, state: TerminalJobState, now: number): Promise<JobRecord | undefined> {
    const check = new Checks('endJob');
    const args = [
      check.text('id', id),
      check.terminalState('state', state),
      check.time('now', now),
    ] as const;
    const row = await this.#call('endJob', () => this.#driver.endJob(...args));
    return row === undefined ? undefined : toJob(row, 'endJob');
  }

  async pauseJob(id: string, now: number): Promise<JobRecord | undefined> {
    const check = new Checks('pauseJob');
    const args = [check.text('id', id), check.time('now', now)] as const;
    const row = await this.#call('pauseJob', () => this.#driver.pauseJob(...args));
    return row === undefined ? undefined : toJob(row, 'pauseJob');
  }

  async resumeJob(id: string, now: number): Promise<JobRecord | undefined> {
    const check = new Checks('resumeJob');
    const args = [check.text('id', id), check.time('now', now)] as const;
    const row = await this.#call('resumeJob', () => this.#driver.resumeJob(...args));
    return row === undefined ? undefined : toJob(row, 'resumeJob');
  }

  async updateJob(update: JobUpdate): Promise<JobRecord | null | undefined> {
    const check = new Checks('updateJob');
    const u = check.object('update', update);
    const checked = {
      id: check.text('update.id', u.id),
      expectedRevision: check.integer(
        'update.expectedRevision',
        u.expectedRevision,
        0,
        Number.MAX_SAFE_INTEGER,
      ),
      spec: jsonObjectText(u.spec, 'updateJob', 'update.spec'),
      nextRunAt: check.timeOrNull('update.nextRunAt', u.nextRunAt),
      now: check.time('update.now', u.now),
    };
    const row = await this.#call('updateJob', () => this.#driver.updateJob(checked));
    return row === undefined || row === null ? row : toJob(row, 'updateJob');
  }

  async startRun(start: RunStart): Promise<ClaimedRun | null | undefined> {
    const check = new Checks('startRun');
    const s = check.object('start', start);
    const checked = {
      jobId: check.text('start.jobId', s.jobId),
      occurrenceId: check.text('start.occurrenceId', s.occurrenceId),
      scheduledAt: check.time('start.scheduledAt', s.scheduledAt),
      owner: check.text('start.owner', s.owner),
      leaseDuration: check.leaseDuration('start.leaseDuration', s.leaseDuration),
      now: check.time('start.now', s.now),
    };
    const result = await this.#call('startRun', () => this.#driver.startRun(checked));
    if (result === 'occurrence-exists') {
      return check.fail(
        `start.occurrenceId ${JSON.stringify(checked.occurrenceId)} is already in the ledger`,
      );
    }
    return result === undefined || result === null ? result : toClaimedRun(result);
  }

  nextDueAt(): Promise<number | null> {
    return this.#call('nextDueAt', () => this.#driver.nextDueAt());
  }

  async claimDue(claim: DueClaim): Promise<DueClaimResult> {
    const check = new Checks('claimDue');
    const c = check.object('claim', claim);
    const planner = c.plan;
    if (typeof planner !== 'function') check.fail('claim.plan must be a function');
    const owner = check.text('claim.owner', c.owner);
    const now = check.time('claim.now', c.now);
    const limit = check.integer('claim.limit', c.limit, 0, STORAGE_LIMITS.batch);
    const leaseDuration = check.leaseDuration('claim.leaseDuration', c.leaseDuration);
    const historyLimit = check.historyLimit('claim.historyLimit', c.historyLimit);
    if (limit === 0) {
      this.#ensureOpen('claimDue');
      return { now, examined: 0, runs: [], conflicts: [] };
    }
    // The planner's own failure is the caller's, not the store's: it is rethrown as it is, and so
    // is the refusal of an invalid plan, even when the driver wrapped what it caught.
    let planFailure: { error: unknown } | undefined;
    const plan = (row: DueRow, at: number): DuePlan | null => {
      try {
        const planned: unknown = (planner as DueClaim['plan'])(new DueJobView(row), at);
        return planned === null ? null : checkPlan(planned, row.id);
      } catch (error) {
        planFailure ??= { error };
        throw error;
      }
    };
    try {
      const result = await this.#call('claimDue', () =>
        this.#driver.claimDue({ owner, now, limit, leaseDuration, historyLimit, plan }),
      );
      const runs: ClaimedRun[] = result.runs.map(toClaimedRun);
      return {
        now: result.now,
        examined: result.examined,
        runs,
        conflicts: [...result.conflicts],
      };
    } catch (error) {
      if (planFailure !== undefined) throw planFailure.error;
      throw error;
    }
  }

  async renewLeases(renewal: LeaseRenewalRequest): Promise<LeaseRenewal> {
    const check = new Checks('renewLeases');
    const r = check.object('renewal', renewal);
    const seen = new Set<unknown>();
    const leases = check
      .array('renewal.leases', r.leases, STORAGE_LIMITS.batch)
      .map((lease, index) => {
        const name = `renewal.leases[${index}]`;
        const l = check.object(name, lease);
        const occurrenceId = check.text(`${name}.occurrenceId`, l.occurrenceId);
        check.unique('renewal.leases', seen, occurrenceId);
        return { occurrenceId, fence: check.fence(`${name}.fence`, l.fence) };
      });
    const request = {
      owner: check.text('renewal.owner', r.owner),
      leases,
      now: check.time('renewal.now', r.now),
      leaseDuration: check.leaseDuration('renewal.leaseDuration', r.leaseDuration),
    };
    if (leases.length === 0) {
      this.#ensureOpen('renewLeases');
      return { now: request.now, leaseUntil: request.now + request.leaseDuration, lost: [] };
    }
    const result = await this.#call('renewLeases', () => this.#driver.renewLeases(request));
    return {
      now: result.now,
      leaseUntil: result.leaseUntil,
      lost: result.lost.map((lost) => ({ occurrenceId: lost.occurrenceId, reason: lost.reason })),
    };
  }

  async completeRuns(completions: readonly RunCompletion[]): Promise<boolean[]> {
    const check = new Checks('completeRuns');
    const seen = new Set<unknown>();
    const rows: DriverCompletion[] = check
      .array('completions', completions, STORAGE_LIMITS.batch)
      .map((completion, index) => {
        const name = `completions[${index}]`;
        const c = check.object(name, completion);
        const occurrenceId = check.text(`${name}.occurrenceId`, c.occurrenceId);
        check.unique('completions', seen, occurrenceId);
        if (!FINISHED_STATUSES.has(c.status)) {
          check.fail(`${name}.status must be succeeded, failed, canceled or abandoned`);
        }
        return {
          occurrenceId,
          owner: check.text(`${name}.owner`, c.owner),
          fence: check.fence(`${name}.fence`, c.fence),
          status: c.status as RunCompletion['status'],
          finishedAt: check.time(`${name}.finishedAt`, c.finishedAt),
          result:
            c.result === null ? null : jsonObjectText(c.result, 'completeRuns', `${name}.result`),
          reason: c.reason === undefined ? null : check.text(`${name}.reason`, c.reason, true),
          historyLimit: check.historyLimit(`${name}.historyLimit`, c.historyLimit),
        };
      });
    if (rows.length === 0) {
      this.#ensureOpen('completeRuns');
      return [];
    }
    const recorded = await this.#call('completeRuns', () => this.#driver.completeRuns(rows));
    return [...recorded];
  }

  async claimExpiredRuns(claim: ExpiredRunsClaim): Promise<TakenOverRun[]> {
    const check = new Checks('claimExpiredRuns');
    const c = check.object('claim', claim);
    const request = {
      owner: check.text('claim.owner', c.owner),
      now: check.time('claim.now', c.now),
      leaseDuration: check.leaseDuration('claim.leaseDuration', c.leaseDuration),
      limit: check.integer('claim.limit', c.limit, 0, STORAGE_LIMITS.batch),
    };
    if (request.limit === 0) {
      this.#ensureOpen('claimExpiredRuns');
      return [];
    }
    const taken = await this.#call('claimExpiredRuns', () =>
      this.#driver.claimExpiredRuns(request),
    );
    return taken.map(({ job, run, previousOwner }) => ({
      job: toJob(job, 'claimExpiredRuns'),
      run: toRun(run, 'claimExpiredRuns'),
      previousOwner,
    }));
  }

  async releaseLeases(release: LeaseRelease): Promise<number> {
    const check = new Checks('releaseLeases');
    const r = check.object('release', release);
    const seen = new Set<unknown>();
    const leases = check
      .array('release.leases', r.leases, STORAGE_LIMITS.batch)
      .map((lease, index) => {
        const name = `release.leases[${index}]`;
        const l = check.object(name, lease);
        const occurrenceId = check.text(`${name}.occurrenceId`, l.occurrenceId);
        check.unique('release.leases', seen, occurrenceId);
        return { occurrenceId, fence: check.fence(`${name}.fence`, l.fence) };
      });
    const request = {
      owner: check.text('release.owner', r.owner),
      leases,
      now: check.time('release.now', r.now),
    };
    if (leases.length === 0) {
      this.#ensureOpen('releaseLeases');
      return 0;
    }
    return this.#call('releaseLeases', () => this.#driver.releaseLeases(request));
  }

  async recordCallback(record: CallbackRecord): Promise<boolean> {
    const check = new Checks('recordCallback');
    const r = check.object('record', record);
    const checked = {
      occurrenceId: check.text('record.occurrenceId', r.occurrenceId),
      callback: jsonObjectText(r.callback, 'recordCallback', 'record.callback'),
    };
    return this.#call('recordCallback', () => this.#driver.recordCallback(checked));
  }

  async getRun(occurrenceId: string): Promise<RunRecord | undefined> {
    const checked = new Checks('getRun').text('occurrenceId', occurrenceId);
    const row = await this.#call('getRun', () => this.#driver.getRun(checked));
    return row === undefined ? undefined : toRun(row, 'getRun');
  }

  async history(jobId: string, query: HistoryQuery = {}): Promise<RunRecord[] | undefined> {
    const check = new Checks('history');
    const id = check.text('jobId', jobId);
    const q = check.object('query', query);
    const checked = {
      fromSequence: check.positiveOrNone('query.fromSequence', q.fromSequence),
      limit: check.positiveOrNone('query.limit', q.limit),
    };
    const rows = await this.#call('history', () => this.#driver.history(id, checked));
    return rows?.map((row) => toRun(row, 'history'));
  }

  async runningRuns(jobId?: string): Promise<RunRecord[]> {
    const id = jobId === undefined ? undefined : new Checks('runningRuns').text('jobId', jobId);
    const rows = await this.#call('runningRuns', () => this.#driver.runningRuns(id));
    return rows.map((row) => toRun(row, 'runningRuns'));
  }

  async pruneHistory(retention: HistoryRetention): Promise<number> {
    const check = new Checks('pruneHistory');
    const r = check.object('retention', retention);
    const checked = {
      maxAge: check.positiveOrNone('retention.maxAge', r.maxAge),
      maxRowsPerJob: check.positiveOrNone('retention.maxRowsPerJob', r.maxRowsPerJob),
      now: check.time('retention.now', r.now),
    };
    if (checked.maxAge === undefined && checked.maxRowsPerJob === undefined) {
      this.#ensureOpen('pruneHistory');
      return 0;
    }
    return this.#call('pruneHistory', () => this.#driver.pruneHistory(checked));
  }

  async pruneJobs(retention: JobRetention): Promise<number> {
    const check = new Checks('pruneJobs');
    const r = check.object('retention', retention);
    const finishedBefore = check.time('retention.finishedBefore', r.finishedBefore);
    return this.#call('pruneJobs', () => this.#driver.pruneJobs({ finishedBefore }));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Calls already started finish first (their results are still delivered).
      await Promise.allSettled([...this.#pending]);
      try {
        await this.#driver.close();
      } catch (error) {
        if (error instanceof StorageError) throw error;
        throw new StorageError('close', error instanceof Error ? error.message : String(error), {
          cause: error,
        });
      }
    })();
    return this.#closing;
  }
}

/**
 * Wraps an adapter's {@link StoreDriver} into a {@link JobStore}: the one place that enforces the
 * contract for every adapter. It checks every argument (and refuses a bad one with
 * `ERR_STORAGE_INVALID_ARGUMENT` before the driver sees it), serialises specs and results to JSON
 * text and parses them back into fresh objects, checks each plan a claim's planner returns, turns
 * every driver failure into a `StorageError` with the driver's error as `cause`, and refuses every
 * call after `close()` with `ERR_STORAGE_CLOSED` (closing the driver once, after the calls already
 * started).
 *
 * @param driver - the adapter's driver
 * @returns the store to give to the scheduler
 * @throws {@link StorageError} with code `ERR_STORAGE_INVALID_ARGUMENT` when `driver` lacks a
 *   method, or declares `notifies` without `subscribe`
 * @example
 * ```ts
 * import { createJobStore, type JobStore } from '@again/storage';
 *
 * export function createMyStorage(): JobStore {
 *   return createJobStore(new MyDriver());
 * }
 * ```
 */
export function createJobStore(driver: StoreDriver): JobStore {
  const check = new Checks('createJobStore');
  const d = check.object('driver', driver);
  for (const method of DRIVER_METHODS) {
    if (typeof d[method] !== 'function') check.fail(`driver.${method} must be a function`);
  }
  const c = check.object('driver.capabilities', d.capabilities);
  for (const key of ['shared', 'notifies', 'clock'] as const) {
    if (typeof c[key] !== 'boolean') check.fail(`driver.capabilities.${key} must be a boolean`);
  }
  if (c.notifies === true && typeof d.subscribe !== 'function') {
    check.fail('driver.subscribe must be a function when capabilities.notifies is true');
  }
  return new RuntimeStore(driver);
}

import { createManualClock } from '@again/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWakeTimer, MAX_TIMER_DELAY, sleepOn, systemClock } from './timer.js';

describe('createWakeTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('wakes once at the target time', async () => {
    const onWake = vi.fn();
    const timer = createWakeTimer(systemClock, onWake);
    timer.wakeAt(Date.now() + 1_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(onWake).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(onWake).toHaveBeenCalledTimes(1);
    expect(timer.target).toBeNull();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(onWake).toHaveBeenCalledTimes(1);
  });

  it('keeps one timer: a new target replaces the pending one', async () => {
    const onWake = vi.fn();
    const timer = createWakeTimer(systemClock, onWake);
    for (let i = 0; i < 100; i++) timer.wakeAt(Date.now() + 5_000 - i);
    expect(vi.getTimerCount()).toBe(1);
    timer.wakeAt(Date.now() + 10);
    await vi.advanceTimersByTimeAsync(10);
    expect(onWake).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('splits a wait longer than 2^31-1 ms (long wait split)', async () => {
    const onWake = vi.fn();
    const timer = createWakeTimer(systemClock, onWake);
    const fortyDays = 40 * 24 * 3_600_000;
    expect(fortyDays).toBeGreaterThan(MAX_TIMER_DELAY);
    timer.wakeAt(Date.now() + fortyDays);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_DELAY);
    expect(onWake).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(fortyDays - MAX_TIMER_DELAY - 1);
    expect(onWake).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(onWake).toHaveBeenCalledTimes(1);
  });

  it('wakes on the next turn for a target in the past, and cancel() stops it', async () => {
    const onWake = vi.fn();
    const timer = createWakeTimer(systemClock, onWake);
    timer.wakeAt(Date.now() - 5_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(onWake).toHaveBeenCalledTimes(1);
    timer.wakeAt(Date.now() + 100);
    timer.cancel();
    expect(timer.target).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(onWake).toHaveBeenCalledTimes(1);
  });

  it('wakeAt(null) cancels', async () => {
    const onWake = vi.fn();
    const timer = createWakeTimer(systemClock, onWake);
    timer.wakeAt(Date.now() + 100);
    timer.wakeAt(null);
    await vi.advanceTimersByTimeAsync(200);
    expect(onWake).not.toHaveBeenCalled();
  });
});

describe('sleepOn', () => {
  it('resolves after the delay on the given clock', async () => {
    const clock = createManualClock(0);
    let done = false;
    const sleeping = sleepOn(clock, 50).then(() => {
      done = true;
    });
    await clock.advance(49);
    expect(done).toBe(false);
    await clock.advance(1);
    await sleeping;
    expect(done).toBe(true);
  });

  it('rejects with the signal reason when aborted, and clears its timer', async () => {
    const clock = createManualClock(0);
    const controller = new AbortController();
    const sleeping = sleepOn(clock, 1_000, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    await expect(sleepOn(clock, 10, controller.signal)).rejects.toBe(reason);
  });
});

import { AccountRateLimiter, sweepOptions } from '../../../lib/onboarding/verbs/sweep';

describe('Class: AccountRateLimiter', () => {
  /** a clock that only moves when the limiter sleeps: the waits it asks for are exactly its spacing */
  const clocked = (perSecond: number) => {
    let now = 0;
    const waits: string[] = [];
    const limiter = new AccountRateLimiter(
      perSecond,
      () => now,
      async (ms) => {
        waits.push(`${ms}`);
      },
    );
    return { limiter, waits, advance: (ms: number) => (now += ms) };
  };

  it('spaces the calls of one account evenly at the rate, each account on its own', async () => {
    const { limiter, waits } = clocked(25);
    await Promise.all([1, 2, 3, 4, 5].map(() => limiter.acquire('200000000002')));
    await limiter.acquire('300000000003');
    expect(waits).toEqual(['40', '80', '120', '160']);
    expect(Object.fromEntries(limiter.granted)).toEqual({ '200000000002': 5, '300000000003': 1 });
  });

  it('never lets more than the rate go within one second, even when slots came late', async () => {
    let now = 0;
    const sends: number[] = [];
    const limiter = new AccountRateLimiter(
      4,
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    // the event loop was busy: every caller asks at once, and the clock only moves when the limiter sleeps
    for (let i = 0; i < 9; i++) {
      await limiter.acquire('a');
      sends.push(now);
    }
    for (let i = 0; i < sends.length; i++)
      expect(sends.filter((s) => s > sends[i] - 1000 && s <= sends[i]).length).toBeLessThanOrEqual(4);
    expect(sends).toEqual([0, 250, 500, 750, 1000, 1250, 1500, 1750, 2000]);
    // slots that came late (the clock jumped past them while callers waited): the window holds the rest back
    const late = new AccountRateLimiter(
      4,
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    now = 50_000;
    const reserved = [0, 1, 2, 3, 4, 5].map(() => late.acquire('b'));
    await Promise.all(reserved);
    expect(now - 50_000).toBeGreaterThanOrEqual(1000);
  });

  it('a call after a quiet spell goes at once, and the next waits one interval after it', async () => {
    const { limiter, waits, advance } = clocked(10);
    await limiter.acquire('a');
    advance(5_000);
    await limiter.acquire('a');
    await limiter.acquire('a');
    expect(waits).toEqual(['100']);
  });
});

describe('Function: sweepOptions', () => {
  it('reads its configuration, with defaults, and refuses what is not a positive number', () => {
    expect(sweepOptions({})).toEqual({
      concurrency: 8,
      callsPerSecond: 10,
      marginMs: 30_000,
      attempts: 5,
      pageSize: 100,
    });
    expect(
      sweepOptions({ SWEEP_CONCURRENCY: '3', SWEEP_CALLS_PER_SECOND: '2.5', SWEEP_PAGE_SIZE: '500' }),
    ).toMatchObject({ concurrency: 3, callsPerSecond: 2.5, pageSize: 100 });
    expect(() => sweepOptions({ SWEEP_CALLS_PER_SECOND: '0' })).toThrow(
      'SWEEP_CALLS_PER_SECOND must be a positive number, not "0"',
    );
    expect(() => sweepOptions({ SWEEP_CONCURRENCY: 'many' })).toThrow('SWEEP_CONCURRENCY');
  });
});

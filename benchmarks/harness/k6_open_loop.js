// Open-loop load for the harness (benchmarks/harness/openloop.py): requests start at a fixed arrival rate,
// whatever the server's answers do. k6's constant-arrival-rate executor starts each iteration on its schedule
// when a VU is free and drops it (counted in dropped_iterations) when none is, so an iteration's duration runs
// from its scheduled start: a slow answer shows as latency instead of delaying the requests behind it.
import http from 'k6/http';
import { check } from 'k6';

const vus = Number(__ENV.VUS);

export const options = {
  scenarios: {
    open: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE),
      timeUnit: '1s',
      duration: __ENV.DURATION,
      preAllocatedVUs: vus,
      maxVUs: vus, // all allocated up front: allocating mid-run would itself delay requests
    },
  },
};

export default function () {
  const res = http.get(__ENV.URL, { timeout: __ENV.TIMEOUT });
  // Verified as the harness verifies every answer: a 2xx carrying the computed position.
  check(res, { verified: (r) => r.status >= 200 && r.status < 300 && r.body.indexOf('"az"') >= 0 });
}

/**
 * Runs every scenario of conformance/scenarios/ against the real server, once per transport the
 * scenario lists (default `auto`).
 */
import { test } from 'node:test';
import { loadScenarios, runScenario } from './support/scenario.js';

const only = process.env.SCENARIO;
for (const scenario of loadScenarios()) {
  if (only && !scenario.name.includes(only)) continue;
  for (const mode of scenario.transports ?? ['auto']) {
    test(`${scenario.name} [${mode}]`, { timeout: 60_000 }, () => runScenario(scenario, mode));
  }
}

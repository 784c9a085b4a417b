import { defineProject } from 'vitest/config';
import { edgeTestProject } from '../../vitest.shared';

// The adapter and core verification under the edge runtime, with no Node built-ins.
export default defineProject(edgeTestProject('hono-edge'));

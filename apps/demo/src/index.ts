export { DEFAULT_DATA_DIR, startDemo } from './demo';
export type { DemoOptions, DemoUrls, RunningDemo } from './demo';
export { DEMO_TENANT, createPlatform } from './platform';
export type { Platform, PlatformOptions } from './platform';
export type { ReceivedEntry, ReceiverControl } from './receivers/recorder';
export type { ReceiverName, RunningReceiver } from './receivers/types';
export { LIFECYCLE, createSimulator } from './simulator';
export type { BroadcastEventType, SimulatedEvent, Simulator, SimulatorOptions } from './simulator';

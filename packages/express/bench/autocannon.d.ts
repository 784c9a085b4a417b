// The subset of autocannon's API the receivers benchmark uses (the package ships no types).
declare module 'autocannon' {
  interface AutocannonClient {
    setRequests(requests: ReadonlyArray<{ method: string; path: string; headers: Record<string, string>; body: string }>): void;
  }
  interface AutocannonOptions {
    url: string;
    connections: number;
    amount: number;
    setupClient?: (client: AutocannonClient) => void;
  }
  interface AutocannonResult {
    requests: { total: number; average: number };
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
  }
  export default function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
}

// `@/lib/auth` of the Next.js examples: the host application's session lookup.
export interface Session {
  /** The signed-in user's workspace (the sender's tenant). */
  workspaceId: string;
}

/** The current session, or null when nobody is signed in. */
export async function auth(): Promise<Session | null> {
  return null;
}

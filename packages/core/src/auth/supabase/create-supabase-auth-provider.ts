import type { SupabaseAuthOptions, SupabaseAuthProvider } from './supabase-auth-provider';

/**
 * The Supabase Auth provider, with supabase-js loaded only now: on Node 20 supabase-js prints a
 * deprecation notice as it loads, which a server not using Supabase has no reason to show.
 */
export async function createSupabaseAuthProvider(options: SupabaseAuthOptions): Promise<SupabaseAuthProvider> {
  const { SupabaseAuthProvider } = await import('./supabase-auth-provider');
  return new SupabaseAuthProvider(options);
}

// The k6 child's environment: only what it needs to run, the user's env_vars and fetched
// secrets, and K6_CLOUD_TOKEN when uploading. The daemon's own secrets never pass.

/** Variables copied from the daemon's environment when set (proxies, CAs, locale). */
export const PASSTHROUGH_ENV = [
  'PATH',
  'TZ',
  'LANG',
  'LC_ALL',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
] as const;

export interface ChildEnvInput {
  /** The daemon's environment (main.ts passes process.env). */
  daemonEnv: Readonly<Record<string, string | undefined>>;
  /** The run's private directory: HOME and TMPDIR point there, so k6's files go with it. */
  runDir: string;
  uploadToCloud: boolean;
  cloudToken: string;
  envVars: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string>>;
}

export function buildChildEnv(input: ChildEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSTHROUGH_ENV) {
    const value = input.daemonEnv[name];
    if (value !== undefined) env[name] = value;
  }
  env.HOME = input.runDir;
  env.TMPDIR = input.runDir;
  env.K6_NO_USAGE_REPORT = 'true';
  if (input.uploadToCloud && input.cloudToken !== '') env.K6_CLOUD_TOKEN = input.cloudToken;
  // As the original: payload variables override, and a secret overrides an env_vars entry.
  Object.assign(env, input.envVars, input.secrets);
  return env;
}

/** k6's argv: `run [--out cloud] <script>`, the same in k6 v1 and v2. */
export function buildK6Args(scriptPath: string, uploadToCloud: boolean): string[] {
  return ['run', ...(uploadToCloud ? ['--out', 'cloud'] : []), scriptPath];
}

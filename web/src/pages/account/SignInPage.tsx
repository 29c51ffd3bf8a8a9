import { Alert, Anchor, Button, Center, Collapse, Divider, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { IconAnchor } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router';
import { api, ApiError, errorText } from '../../api/client';
import type { SystemInfo } from '../../api/types';
import { useSession } from '../../auth/session';
import { usePageTitle } from '../../lib/title';
import { sentence } from './forms';

/** The query parameter in which the OIDC callback names what went wrong. */
const oidcErrorParam = 'oidc_error';

export function SignInPage() {
  usePageTitle('Sign in');
  const session = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? '/projects';
  // The OIDC callback comes back here with what went wrong at the provider or after it.
  const oidcError = new URLSearchParams(location.search).get(oidcErrorParam);
  const [principal, setPrincipal] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const info = useQuery({ queryKey: ['systeminfo'], queryFn: () => api.get<SystemInfo>('/systeminfo') });
  const oidc = info.data?.auth_mode === 'oidc_auth';
  // With OIDC as the primary mode, the local form (the admin's way in) stays folded away.
  const [localOpen, setLocalOpen] = useState(false);
  const formShown = !oidc || !info.data?.primary_auth_mode || localOpen;

  if (session.user) return <Navigate to={from} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await session.signIn(principal, password);
      navigate(from, { replace: true });
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'The username or password is wrong.' : errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Center mih="100vh" p="md">
      <main style={{ width: '100%', maxWidth: 380 }}>
        <Paper withBorder shadow="sm" p="xl" radius="md">
          <Stack>
            <Title order={1} size="h2">
              <IconAnchor size={26} aria-hidden style={{ verticalAlign: 'middle', marginRight: 8 }} />
              Sign in to Berth
            </Title>
            {oidcError && (
              <Alert color="red" role="alert" title="Single sign-on did not work">
                {sentence(oidcError)}
              </Alert>
            )}
            {oidc && (
              <>
                <Button component="a" href={`/c/oidc/login?redirect_url=${encodeURIComponent(from)}`} fullWidth>
                  Sign in with {info.data?.oidc_provider_name || 'single sign-on'}
                </Button>
                {info.data?.primary_auth_mode ? (
                  <Button variant="subtle" size="compact-sm" onClick={() => setLocalOpen((o) => !o)} aria-expanded={localOpen}>
                    Sign in with a local account
                  </Button>
                ) : (
                  <Divider label="or sign in with a local account" labelPosition="center" />
                )}
              </>
            )}
            {info.data?.auth_mode === 'ldap_auth' && (
              <Text size="sm" c="dimmed">
                Sign in with your directory account.
              </Text>
            )}
          </Stack>
          <Collapse expanded={formShown}>
            <form onSubmit={submit}>
              <Stack mt="md">
                {error && (
                  <Alert color="red" role="alert">
                    {error}
                  </Alert>
                )}
                <TextInput
                  label="Username or email"
                  autoComplete="username"
                  required
                  value={principal}
                  onChange={(e) => setPrincipal(e.currentTarget.value)}
                  data-autofocus
                  autoFocus
                />
                <PasswordInput
                  label="Password"
                  autoComplete="current-password"
                  required
                  value={password}
                  onChange={(e) => setPassword(e.currentTarget.value)}
                />
                <Button type="submit" loading={busy} fullWidth variant={oidc ? 'default' : 'filled'}>
                  Sign in
                </Button>
                {info.data?.self_registration && !oidc && (
                  <Text size="sm" ta="center">
                    No account?{' '}
                    <Anchor component={Link} to="/sign-up" underline="always">
                      Sign up
                    </Anchor>
                  </Text>
                )}
              </Stack>
            </form>
          </Collapse>
        </Paper>
      </main>
    </Center>
  );
}

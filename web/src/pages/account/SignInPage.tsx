import { Alert, Anchor, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { IconAnchor } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router';
import { api, ApiError, errorText } from '../../api/client';
import type { SystemInfo } from '../../api/types';
import { useSession } from '../../auth/session';
import { usePageTitle } from '../../lib/title';

export function SignInPage() {
  usePageTitle('Sign in');
  const session = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? '/projects';
  const [principal, setPrincipal] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const info = useQuery({ queryKey: ['systeminfo'], queryFn: () => api.get<SystemInfo>('/systeminfo') });

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
          <form onSubmit={submit}>
            <Stack>
              <Title order={1} size="h2">
                <IconAnchor size={26} aria-hidden style={{ verticalAlign: 'middle', marginRight: 8 }} />
                Sign in to Berth
              </Title>
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
              <Button type="submit" loading={busy} fullWidth>
                Sign in
              </Button>
              {info.data?.self_registration && (
                <Text size="sm" ta="center">
                  No account?{' '}
                  <Anchor component={Link} to="/sign-up" underline="always">
                    Sign up
                  </Anchor>
                </Text>
              )}
            </Stack>
          </form>
        </Paper>
      </main>
    </Center>
  );
}

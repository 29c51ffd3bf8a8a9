import { Alert, Anchor, Button, Center, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconAnchor } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { api } from '../../api/client';
import { useSession } from '../../auth/session';
import { usePageTitle } from '../../lib/title';
import { placeError } from './forms';

const forbiddenInUsername = /[,"~#%$\s:]/;

/** A portal path to go to after onboarding; anything else (another site) is ignored. */
function portalPath(value: string | null): string {
  return value && value.startsWith('/') && !value.startsWith('//') ? value : '/projects';
}

/**
 * A first sign-in through OIDC when the server does not make up the username itself: the
 * user picks one (prefilled with the provider's suggestion) and is signed in once it is free.
 */
export function OidcOnboardPage() {
  usePageTitle('Choose a username');
  const session = useSession();
  const navigate = useNavigate();
  const params = new URLSearchParams(useLocation().search);
  const [username, setUsername] = useState(params.get('username') ?? '');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const name = username.trim();
    if (!name) return setFieldError('Enter a username.');
    if (forbiddenInUsername.test(name)) return setFieldError('No spaces and none of , " ~ # % $ :');
    setBusy(true);
    try {
      await api.oidcOnboard(name);
      await session.refresh();
      navigate(portalPath(params.get('redirect_url')), { replace: true });
    } catch (err) {
      // 409 names what is taken: the username (on the field) or the provider's email (the form's).
      const placed = placeError(err, [[/username/i, 'username']]);
      if (placed.field) setFieldError(placed.message);
      else setFormError(placed.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Center mih="100vh" p="md">
      <main style={{ width: '100%', maxWidth: 420 }}>
        <Paper withBorder shadow="sm" p={{ base: 'lg', xs: 'xl' }} radius="md">
          <form onSubmit={submit} noValidate>
            <Stack>
              <Title order={1} size="h2">
                <IconAnchor size={26} aria-hidden style={{ verticalAlign: 'middle', marginRight: 8 }} />
                Choose a username
              </Title>
              <Text size="sm">
                You signed in with your organisation&apos;s account for the first time. Choose the username you will have in Berth: it is
                shown to others and used with docker login.
              </Text>
              {formError && (
                <Alert color="red" role="alert">
                  {formError}
                </Alert>
              )}
              <TextInput
                label="Username"
                required
                autoComplete="username"
                description={'No spaces and none of , " ~ # % $ :'}
                value={username}
                onChange={(e) => {
                  setUsername(e.currentTarget.value);
                  setFieldError(null);
                }}
                error={fieldError}
                data-autofocus
                autoFocus
              />
              <Button type="submit" loading={busy} fullWidth>
                Continue
              </Button>
              {/* The provider's answer waits 10 minutes for a choice; after that, sign in again. */}
              <Text size="sm" ta="center">
                <Anchor component={Link} to="/sign-in" underline="always">
                  Back to sign in
                </Anchor>
              </Text>
            </Stack>
          </form>
        </Paper>
      </main>
    </Center>
  );
}

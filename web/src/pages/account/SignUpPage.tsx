import { Alert, Anchor, Button, Center, Loader, Paper, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { IconAnchor } from '@tabler/icons-react';
import { Link, Navigate, useNavigate } from 'react-router';
import { api, errorText } from '../../api/client';
import type { SystemInfo } from '../../api/types';
import { useSession } from '../../auth/session';
import { notifyDone } from '../../lib/notify';
import { usePageTitle } from '../../lib/title';
import { NewUserForm, type NewUserValues } from './forms';

/** Anyone may create an account here when the server allows self-registration. */
export function SignUpPage() {
  usePageTitle('Sign up');
  const session = useSession();
  const navigate = useNavigate();
  const info = useQuery({ queryKey: ['systeminfo'], queryFn: () => api.get<SystemInfo>('/systeminfo') });

  if (session.user) return <Navigate to="/projects" replace />;

  async function signUp(values: NewUserValues) {
    await api.post('/users', values);
    notifyDone('Account created: sign in');
    navigate('/sign-in', { replace: true, state: { notice: 'Account created: sign in', username: values.username } });
  }

  const signInLink = (
    <Text size="sm" ta="center">
      Already have an account?{' '}
      <Anchor component={Link} to="/sign-in" underline="always">
        Sign in
      </Anchor>
    </Text>
  );

  let body;
  if (info.isPending || session.loading) {
    body = (
      <Center py="lg">
        <Loader aria-label="Loading" />
      </Center>
    );
  } else if (info.isError) {
    body = (
      <>
        <Alert color="red" title="Could not reach the server" role="alert">
          <Text size="sm">{errorText(info.error)}</Text>
          <Button mt="sm" size="xs" variant="light" color="red" onClick={() => info.refetch()}>
            Try again
          </Button>
        </Alert>
        {signInLink}
      </>
    );
  } else if (!info.data.self_registration) {
    body = (
      <>
        <Alert color="blue" title="Self-registration is off">
          This registry does not let visitors create their own accounts. Ask an administrator for one.
        </Alert>
        <Button component={Link} to="/sign-in" variant="light" fullWidth>
          Back to sign in
        </Button>
      </>
    );
  } else {
    body = <NewUserForm submitLabel="Sign up" onSubmit={signUp} ownAccount footer={signInLink} />;
  }

  return (
    <Center mih="100vh" p="md">
      <main style={{ width: '100%', maxWidth: 460 }}>
        <Paper withBorder shadow="sm" p={{ base: 'lg', xs: 'xl' }} radius="md">
          <Stack>
            <Title order={1} size="h2">
              <IconAnchor size={26} aria-hidden style={{ verticalAlign: 'middle', marginRight: 8 }} />
              Sign up for Berth
            </Title>
            {body}
          </Stack>
        </Paper>
      </main>
    </Center>
  );
}

import { AppShell, Burger, Button, Group, Menu, NavLink, ScrollArea, Text, UnstyledButton } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import {
  IconAnchor,
  IconBox,
  IconChevronDown,
  IconDatabase,
  IconInfoCircle,
  IconKey,
  IconLogout,
  IconServer,
  IconSettings,
  IconUser,
  IconUsersGroup,
  IconTags,
  IconUsers,
  IconListDetails,
  IconRecycle,
  IconShieldSearch,
  IconArrowsExchange,
  IconBuildingWarehouse,
  IconTopologyStar3,
} from '@tabler/icons-react';
import { useState } from 'react';
import { Link, Outlet, useLocation, useNavigate } from 'react-router';
import { useSession } from '../auth/session';
import { AboutModal } from '../pages/account/AboutModal';
import { GlobalSearch } from './GlobalSearch';
import { SystemBanner } from './SystemBanner';
import { ChangePasswordModal } from '../pages/account/ChangePasswordModal';
import { ProfileModal } from '../pages/account/ProfileModal';
import { hasFeature } from '../lib/features';
import { notifyError } from '../lib/notify';

const adminLinks = [
  { to: '/admin/users', label: 'Users', icon: IconUsers },
  { to: '/admin/groups', label: 'Groups', icon: IconUsersGroup },
  ...(hasFeature('replication')
    ? [
        { to: '/admin/registries', label: 'Registries', icon: IconBuildingWarehouse },
        { to: '/admin/replications', label: 'Replications', icon: IconArrowsExchange },
      ]
    : []),
  ...(hasFeature('p2p-preheat') ? [{ to: '/admin/distributions', label: 'Distributions', icon: IconTopologyStar3 }] : []),
  { to: '/admin/labels', label: 'Labels', icon: IconTags },
  { to: '/admin/audit-logs', label: 'Audit log', icon: IconListDetails },
  { to: '/admin/quotas', label: 'Project quotas', icon: IconDatabase },
  { to: '/admin/gc', label: 'Garbage collection', icon: IconRecycle },
  ...(hasFeature('vulnerability-scanning')
    ? [{ to: '/admin/interrogation-services', label: 'Interrogation services', icon: IconShieldSearch }]
    : []),
  { to: '/admin/configuration', label: 'Configuration', icon: IconSettings },
  { to: '/admin/system', label: 'System', icon: IconServer },
];

/** The frame of every signed-in page: header with the user menu, navigation, content. */
export function Shell() {
  const session = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [navOpened, nav] = useDisclosure(false);
  const [dialog, setDialog] = useState<'password' | 'about' | 'profile' | null>(null);
  const user = session.user!;
  const active = (to: string) => location.pathname === to || location.pathname.startsWith(`${to}/`);

  async function signOut() {
    try {
      await session.signOut();
      navigate('/sign-in');
    } catch (err) {
      notifyError(err, 'Could not sign out');
    }
  }

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !navOpened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={navOpened}
              onClick={nav.toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label={navOpened ? 'Close navigation' : 'Open navigation'}
            />
            <UnstyledButton component={Link} to="/projects" aria-label="Berth home">
              <Group gap={6} wrap="nowrap">
                <IconAnchor size={22} aria-hidden />
                <Text fw={700} size="lg" visibleFrom="xs">
                  Berth
                </Text>
              </Group>
            </UnstyledButton>
          </Group>
          <GlobalSearch />
          <Menu position="bottom-end" withinPortal withInitialFocusPlaceholder={false}>
            <Menu.Target>
              <Button
                variant="subtle"
                rightSection={<IconChevronDown size={14} aria-hidden />}
                aria-label={`User menu for ${user.username}`}
              >
                {user.username}
              </Button>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Label>{user.sysadmin_flag ? 'Administrator' : 'Signed in'}</Menu.Label>
              <Menu.Item leftSection={<IconUser size={14} aria-hidden />} onClick={() => setDialog('profile')}>
                User profile
              </Menu.Item>
              {/* An OIDC user has no password here: the provider keeps it. */}
              {!user.oidc_user_meta && (
                <Menu.Item leftSection={<IconKey size={14} aria-hidden />} onClick={() => setDialog('password')}>
                  Change password
                </Menu.Item>
              )}
              <Menu.Item leftSection={<IconInfoCircle size={14} aria-hidden />} onClick={() => setDialog('about')}>
                About
              </Menu.Item>
              <Menu.Divider />
              <Menu.Item leftSection={<IconLogout size={14} aria-hidden />} onClick={signOut}>
                Sign out
              </Menu.Item>
            </Menu.Dropdown>
          </Menu>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        <ScrollArea>
          <NavLink
            component={Link}
            to="/projects"
            label="Projects"
            leftSection={<IconBox size={16} aria-hidden />}
            active={active('/projects')}
            onClick={nav.close}
          />
          {user.sysadmin_flag && (
            <>
              <Text size="xs" fw={700} c="dimmed" mt="md" mb={4} px="sm">
                Administration
              </Text>
              {adminLinks.map((link) => (
                <NavLink
                  key={link.to}
                  component={Link}
                  to={link.to}
                  label={link.label}
                  leftSection={<link.icon size={16} aria-hidden />}
                  active={active(link.to)}
                  onClick={nav.close}
                />
              ))}
            </>
          )}
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main>
        <SystemBanner />
        <Outlet />
      </AppShell.Main>
      <ChangePasswordModal opened={dialog === 'password'} onClose={() => setDialog(null)} />
      <AboutModal opened={dialog === 'about'} onClose={() => setDialog(null)} />
      <ProfileModal opened={dialog === 'profile'} onClose={() => setDialog(null)} />
    </AppShell>
  );
}

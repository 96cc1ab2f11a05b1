/** The signed-in frame: navigation (a menu button on narrow screens), live status, the routed page. */
import { useEffect, useState } from 'preact/hooks';
import type { LiveStatus } from '../api/live.js';
import { AuditPage } from '../pages/audit.js';
import { ChannelPage, ChannelsPage } from '../pages/channels.js';
import { ConsolePage } from '../pages/console.js';
import { DevicePage } from '../pages/device.js';
import { DevicesPage } from '../pages/devices.js';
import { OverviewPage } from '../pages/overview.js';
import { SecurityPage } from '../pages/security.js';
import { TenantsPage } from '../pages/tenants.js';
import { UsersPage } from '../pages/users.js';
import { matchPath, useLocation } from '../lib/router.js';
import { can, isPlatformAdmin, useSession, type Session } from '../lib/session.js';
import { Link } from './link.js';
import { Page } from './ui.js';

interface NavItem {
  href: string;
  label: string;
  visible?: (s: Session) => boolean;
}

const NAV: NavItem[] = [
  { href: '/', label: 'Overview' },
  { href: '/devices', label: 'Devices' },
  { href: '/thingspeak', label: 'Channels' },
  { href: '/audit', label: 'Audit log' },
  { href: '/console', label: 'MQTT console' },
  { href: '/users', label: 'Users', visible: (s) => can(s.me, 'admin') },
  { href: '/tenants', label: 'Tenants', visible: (s) => isPlatformAdmin(s.me) },
  { href: '/security', label: 'Security' },
];

function route(path: string) {
  if (path === '/') return <OverviewPage />;
  if (path === '/devices') return <DevicesPage />;
  const device = matchPath('/devices/:id', path);
  if (device) return <DevicePage id={device.id} key={device.id} />;
  if (path === '/thingspeak') return <ChannelsPage />;
  const channel = matchPath('/thingspeak/:id', path);
  if (channel) return <ChannelPage id={Number(channel.id)} key={channel.id} />;
  if (path === '/audit') return <AuditPage />;
  if (path === '/console') return <ConsolePage />;
  if (path === '/users') return <UsersPage />;
  if (path === '/tenants') return <TenantsPage />;
  if (path === '/security') return <SecurityPage />;
  return (
    <Page title="Not found">
      <p>
        There is no page at <code>{path}</code>. <Link href="/">Go to the overview</Link>.
      </p>
    </Page>
  );
}

function isCurrent(href: string, path: string): boolean {
  return href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
}

export function Shell() {
  const session = useSession();
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const [status, setStatus] = useState<LiveStatus>(session.live.status);
  useEffect(() => session.live.onStatus(setStatus), [session.live]);
  useEffect(() => setMenuOpen(false), [path]);
  const { user, role } = session.me;

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand">
          Halyard
        </Link>
        <span class={`live ${status}`} data-testid="live-status" title={`Live updates: ${status}`}>
          <span class="dot" aria-hidden="true" />
          {status === 'open' ? 'live' : status}
        </span>
        <button
          type="button"
          class="menu-button"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
      </header>
      <nav id="nav" class={menuOpen ? 'nav open' : 'nav'} aria-label="Main">
        <ul>
          {NAV.filter((item) => item.visible?.(session) ?? true).map((item) => (
            <li key={item.href}>
              <Link href={item.href} aria-current={isCurrent(item.href, path) ? 'page' : undefined}>
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
        <div class="whoami">
          <span data-testid="whoami">
            {user.username} · {role}
            {session.me.tenantId ? ` · ${session.me.tenantId}` : ' · platform'}
          </span>
          <button type="button" onClick={() => void session.signOut()}>
            Sign out
          </button>
        </div>
      </nav>
      <main id="main" class="main">
        {route(path)}
      </main>
    </div>
  );
}

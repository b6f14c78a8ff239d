using Turn.Wire;

namespace Turn.Relay;

internal sealed partial class Allocation
{
    /// <summary>True when a live permission covers the peer's IP address (RFC 8656 §9).</summary>
    public bool HasPermission(StunAddress peer, long nowMs)
    {
        lock (_lock)
        {
            return FindPermission(peer) is int i && _permissions[i].ExpiresAt > nowMs;
        }
    }

    /// <summary>
    /// Installs or refreshes permissions for every address, or none when the table cannot
    /// hold them all (RFC 8656 §9.2: the request succeeds or fails as a whole).
    /// </summary>
    public bool TryInstallPermissions(ReadOnlySpan<StunAddress> peers, long expiresAt)
    {
        lock (_lock)
        {
            int needed = 0;
            for (int i = 0; i < peers.Length; i++)
            {
                if (FindPermission(peers[i]) is null && !SeenBefore(peers, i))
                {
                    needed++;
                }
            }

            if (_permissionCount + needed > Limits.MaxPermissionsPerAllocation)
            {
                return false;
            }

            foreach (StunAddress peer in peers)
            {
                InstallPermission(peer, expiresAt);
            }

            return true;
        }
    }

    /// <summary>Drops expired permissions; returns how many are left.</summary>
    public int SweepPermissions(long nowMs)
    {
        lock (_lock)
        {
            for (int i = _permissionCount - 1; i >= 0; i--)
            {
                if (_permissions[i].ExpiresAt <= nowMs)
                {
                    _permissions[i] = _permissions[--_permissionCount];
                }
            }

            return _permissionCount;
        }
    }

    private void InstallPermission(StunAddress peer, long expiresAt)
    {
        if (FindPermission(peer) is int existing)
        {
            _permissions[existing].ExpiresAt = expiresAt;
        }
        else if (_permissionCount < Limits.MaxPermissionsPerAllocation)
        {
            if (_permissionCount == _permissions.Length)
            {
                Array.Resize(ref _permissions, Math.Min(_permissions.Length * 2, Limits.MaxPermissionsPerAllocation));
            }

            _permissions[_permissionCount++] = new Permission { Family = peer.Family, Address = peer.Address, ExpiresAt = expiresAt };
        }
    }

    private int? FindPermission(StunAddress peer)
    {
        for (int i = 0; i < _permissionCount; i++)
        {
            if (_permissions[i].Address == peer.Address && _permissions[i].Family == peer.Family)
            {
                return i;
            }
        }

        return null;
    }

    private static bool SeenBefore(ReadOnlySpan<StunAddress> peers, int index)
    {
        for (int j = 0; j < index; j++)
        {
            if (peers[j].Address == peers[index].Address && peers[j].Family == peers[index].Family)
            {
                return true;
            }
        }

        return false;
    }
}

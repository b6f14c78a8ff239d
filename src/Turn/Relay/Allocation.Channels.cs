using Turn.Wire;

namespace Turn.Relay;

internal sealed partial class Allocation
{
    private const long ChannelCoolDownMs = 300_000;

    /// <summary>
    /// RFC 8656 §12.1: binds the channel to the peer or refreshes the binding; the same call
    /// installs or refreshes the permission for the peer's address.
    /// </summary>
    public ChannelBindResult BindChannel(ushort channel, StunAddress peer, long channelExpiresAt, long permissionExpiresAt)
    {
        lock (_lock)
        {
            int index = -1;
            for (int i = 0; i < _channelCount; i++)
            {
                bool sameChannel = _channels[i].Channel == channel;
                bool samePeer = _channels[i].Peer == peer;
                if (sameChannel != samePeer)
                {
                    return ChannelBindResult.Conflict;
                }

                if (sameChannel)
                {
                    index = i;
                }
            }

            bool needsPermission = FindPermission(peer) is null;
            if ((index < 0 && _channelCount == Limits.MaxChannelsPerAllocation) || (needsPermission && _permissionCount == Limits.MaxPermissionsPerAllocation))
            {
                return ChannelBindResult.NoCapacity;
            }

            if (index < 0)
            {
                if (_channelCount == _channels.Length)
                {
                    Array.Resize(ref _channels, Math.Min(_channels.Length * 2, Limits.MaxChannelsPerAllocation));
                }

                index = _channelCount++;
                _channels[index].Channel = channel;
                _channels[index].Peer = peer;
            }

            _channels[index].ExpiresAt = channelExpiresAt;
            InstallPermission(peer, permissionExpiresAt);
            return ChannelBindResult.Bound;
        }
    }

    /// <summary>The peer of a live channel whose address also still has a permission.</summary>
    public bool TryGetChannelPeer(ushort channel, long nowMs, out StunAddress peer)
    {
        lock (_lock)
        {
            for (int i = 0; i < _channelCount; i++)
            {
                if (_channels[i].Channel == channel)
                {
                    peer = _channels[i].Peer;
                    return _channels[i].ExpiresAt > nowMs && FindPermission(peer) is int p && _permissions[p].ExpiresAt > nowMs;
                }
            }
        }

        peer = default;
        return false;
    }

    /// <summary>
    /// For data arriving from a peer (RFC 8656 §11.3, §12.7): whether it may pass, and the channel
    /// bound to that exact transport address (0 when none, so a Data indication is used). The
    /// to-client bandwidth budget is spent here too.
    /// </summary>
    public bool AdmitFromPeer(StunAddress peer, int bytes, long nowMs, out ushort channel) => AdmitFromPeer(peer, bytes, nowMs, out channel, out _);

    /// <summary>As above; <paramref name="overQuota"/> tells a permitted peer over the bandwidth cap from one without permission.</summary>
    public bool AdmitFromPeer(StunAddress peer, int bytes, long nowMs, out ushort channel, out bool overQuota)
    {
        channel = 0;
        overQuota = false;
        lock (_lock)
        {
            if (FindPermission(peer) is not int p || _permissions[p].ExpiresAt <= nowMs)
            {
                return false;
            }

            if (_bandwidth is not null && !_bandwidth.ToClient.TryTake(bytes, nowMs))
            {
                overQuota = true;
                return false;
            }

            for (int i = 0; i < _channelCount; i++)
            {
                if (_channels[i].Peer == peer && _channels[i].ExpiresAt > nowMs)
                {
                    channel = _channels[i].Channel;
                    break;
                }
            }

            return true;
        }
    }

    /// <summary>
    /// Forgets channel bindings that expired more than five minutes ago: until then the number
    /// stays reserved for its old peer (RFC 8656 §12). Returns how many are left.
    /// </summary>
    public int SweepChannels(long nowMs)
    {
        lock (_lock)
        {
            for (int i = _channelCount - 1; i >= 0; i--)
            {
                if (_channels[i].ExpiresAt + ChannelCoolDownMs <= nowMs)
                {
                    _channels[i] = _channels[--_channelCount];
                }
            }

            return _channelCount;
        }
    }
}

using System.Net.Sockets;
using Turn.Auth;

namespace Turn.Relay;

/// <summary>
/// RFC 8656 §2.2: the relayed transport address(es) a client holds, with its permissions and
/// channel bindings. Tables are small fixed arrays scanned under one lock, so a packet's
/// lookup is bounded and allocates nothing; expiry is left to the sweeper.
/// </summary>
internal sealed partial class Allocation
{
    private readonly Lock _lock = new();
    private readonly Permission[] _permissions;
    private readonly ChannelBinding[] _channels;
    private int _permissionCount;
    private int _channelCount;
    private TokenBucket _toPeer;
    private TokenBucket _toClient;
    private long _expiresAt;
    private int _closed;

    public Allocation(
        FiveTuple fiveTuple,
        string username,
        CredentialKey key,
        IRelayEndpoint? relay4,
        IRelayEndpoint? relay6,
        IClientSender client,
        RelayLimits limits,
        long expiresAt,
        ReadOnlySpan<byte> transactionId)
    {
        FiveTuple = fiveTuple;
        Username = username;
        Key = key;
        Relay4 = relay4;
        Relay6 = relay6;
        Client = client;
        Limits = limits;
        _expiresAt = expiresAt;
        _permissions = new Permission[limits.MaxPermissionsPerAllocation];
        _channels = new ChannelBinding[limits.MaxChannelsPerAllocation];
        _toPeer = new TokenBucket(limits.BandwidthBytesPerSecond);
        _toClient = new TokenBucket(limits.BandwidthBytesPerSecond);
        AllocateTransactionId = transactionId.ToArray();
    }

    public FiveTuple FiveTuple { get; }

    public string Username { get; }

    /// <summary>The key the Allocate was authenticated with; later requests must use the same credentials (RFC 8656 §7.3).</summary>
    public CredentialKey Key { get; }

    public IRelayEndpoint? Relay4 { get; }

    public IRelayEndpoint? Relay6 { get; }

    public IClientSender Client { get; }

    public RelayLimits Limits { get; }

    /// <summary>Kept so that a retransmitted Allocate gets the same success again (RFC 8656 §7.2).</summary>
    public byte[] AllocateTransactionId { get; }

    /// <summary>The RESERVATION-TOKEN the Allocate answered with, 0 when none; repeated to a retransmission.</summary>
    public ulong ReservationToken { get; init; }

    /// <summary>The ADDRESS-ERROR-CODE for the missing half of a dual allocation, 0 when none; repeated to a retransmission.</summary>
    public int AdditionalFamilyError { get; init; }

    /// <summary>When it was made, on the relay clock (ms).</summary>
    public long CreatedAt { get; init; }

    /// <summary>Whether it counts against its client address's quota (minted credentials do, static users do not).</summary>
    public bool CountsAgainstAddress { get; init; } = true;

    /// <summary>Permissions held, expired ones included until the sweep removes them.</summary>
    public int PermissionCount => Volatile.Read(ref _permissionCount);

    /// <summary>Channel bindings held, as <see cref="PermissionCount"/>.</summary>
    public int ChannelCount => Volatile.Read(ref _channelCount);

    public long ExpiresAt => Volatile.Read(ref _expiresAt);

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public IRelayEndpoint? RelayFor(AddressFamily family) => family == AddressFamily.InterNetwork ? Relay4 : Relay6;

    public void Refresh(long expiresAt) => Volatile.Write(ref _expiresAt, expiresAt);

    /// <summary>Spends the client-to-peer budget; false when the bandwidth cap is reached.</summary>
    public bool TakeToPeer(int bytes, long nowMs)
    {
        lock (_lock)
        {
            return _toPeer.TryTake(bytes, nowMs);
        }
    }

    /// <summary>Closes the relay sockets once; the table has already forgotten the allocation.</summary>
    public bool Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return false;
        }

        Relay4?.Dispose();
        Relay6?.Dispose();
        return true;
    }
}

using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using Turn.Auth;

namespace Turn.Relay;

/// <summary>
/// RFC 8656 §2.2: the relayed transport address(es) a client holds, with its permissions and
/// channel bindings. Tables are small arrays scanned under one lock, so a packet's lookup is
/// bounded and allocates nothing; they start with room for a call's few peers and grow to the
/// configured limits only when a client asks for more. Expiry is left to the sweeper.
/// </summary>
internal sealed partial class Allocation
{
    /// <summary>Room in a new allocation's tables: a WebRTC call usually talks to one peer address.</summary>
    private const int InitialTableLength = 1;

    private readonly Lock _lock = new();

    private readonly ulong _dataTransactionPrefix;
    private readonly ulong _allocateTransaction;
    private readonly uint _allocateTransactionEnd;
    private Permission[] _permissions;
    private ChannelBinding[] _channels;
    private uint _dataSequence;
    private int _permissionCount;
    private int _channelCount;
    private readonly Bandwidth? _bandwidth;
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
        _permissions = new Permission[Math.Min(InitialTableLength, limits.MaxPermissionsPerAllocation)];
        _channels = new ChannelBinding[Math.Min(InitialTableLength, limits.MaxChannelsPerAllocation)];
        ClientIsIPv4 = fiveTuple.Client.IsIPv4 || AddressCanonicalizer.IsIPv4Mapped(fiveTuple.Client);
        Span<byte> prefix = stackalloc byte[sizeof(ulong)];
        RandomNumberGenerator.Fill(prefix);
        _dataTransactionPrefix = BitConverter.ToUInt64(prefix);
        _bandwidth = limits.BandwidthBytesPerSecond > 0 ? new Bandwidth(limits.BandwidthBytesPerSecond) : null;
        _allocateTransaction = BinaryPrimitives.ReadUInt64LittleEndian(transactionId);
        _allocateTransactionEnd = BinaryPrimitives.ReadUInt32LittleEndian(transactionId[sizeof(ulong)..]);
    }

    public FiveTuple FiveTuple { get; }

    /// <summary>The client reaches the server over IPv4 (an IPv4-mapped source included): its datagrams carry a 20-byte IP header.</summary>
    public bool ClientIsIPv4 { get; }

    public string Username { get; }

    /// <summary>The key the Allocate was authenticated with; later requests must use the same credentials (RFC 8656 §7.3).</summary>
    public CredentialKey Key { get; }

    public IRelayEndpoint? Relay4 { get; }

    public IRelayEndpoint? Relay6 { get; }

    public IClientSender Client { get; }

    public RelayLimits Limits { get; }

    /// <summary>Whether a request is the Allocate that made this allocation, retransmitted: it gets the same success again (RFC 8656 §7.2).</summary>
    public bool IsAllocateTransaction(ReadOnlySpan<byte> transactionId)
        => transactionId.Length == Wire.StunHeader.TransactionIdLength
            && BinaryPrimitives.ReadUInt64LittleEndian(transactionId) == _allocateTransaction
            && BinaryPrimitives.ReadUInt32LittleEndian(transactionId[sizeof(ulong)..]) == _allocateTransactionEnd;

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

    /// <summary>Spends the client-to-peer budget; false when the bandwidth cap is reached. Without a cap, nothing to take.</summary>
    public bool TakeToPeer(int bytes, long nowMs)
    {
        if (_bandwidth is null)
        {
            return true;
        }

        lock (_lock)
        {
            return _bandwidth.ToPeer.TryTake(bytes, nowMs);
        }
    }

    /// <summary>
    /// A fresh transaction ID for a Data indication to the client: a random prefix of this
    /// allocation and a sequence number, so the client never sees one repeated.
    /// </summary>
    public void NextDataTransactionId(Span<byte> transactionId)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(transactionId, _dataTransactionPrefix);
        BinaryPrimitives.WriteUInt32BigEndian(transactionId[sizeof(ulong)..], Interlocked.Increment(ref _dataSequence));
    }

    /// <summary>Starts the relay sockets' reading once the allocation is in the table.</summary>
    public void Open()
    {
        Relay4?.Start(this);
        Relay6?.Start(this);
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

    /// <summary>The two directions' budgets, kept only when a cap is configured.</summary>
    private sealed class Bandwidth(long bytesPerSecond)
    {
        public TokenBucket ToPeer = new(bytesPerSecond);
        public TokenBucket ToClient = new(bytesPerSecond);
    }
}

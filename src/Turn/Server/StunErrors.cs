using Turn.Relay;
namespace Turn.Server;

/// <summary>Error codes and the reason phrases sent with them (RFC 8489 §14.8, RFC 8656 §19).</summary>
internal static class StunErrors
{
    public const int TryAlternate = 300;
    public const int BadRequest = 400;
    public const int Unauthorized = 401;
    public const int Forbidden = 403;
    public const int UnknownAttribute = 420;
    public const int AllocationMismatch = 437;
    public const int StaleNonce = 438;
    public const int AddressFamilyNotSupported = 440;
    public const int WrongCredentials = 441;
    public const int UnsupportedTransportProtocol = 442;
    public const int PeerAddressFamilyMismatch = 443;

    /// <summary>RFC 6062 §6.3: a Connect to a peer the allocation is already connected to.</summary>
    public const int ConnectionAlreadyExists = 446;

    /// <summary>RFC 6062 §6.3: the connection to the peer could not be made.</summary>
    public const int ConnectionTimeoutOrFailure = 447;
    public const int AllocationQuotaReached = 486;
    public const int ServerError = 500;
    public const int InsufficientCapacity = 508;

    public static string Reason(int code) => code switch
    {
        TryAlternate => "Try Alternate",
        BadRequest => "Bad Request",
        Unauthorized => "Unauthorized",
        Forbidden => "Forbidden",
        UnknownAttribute => "Unknown Attribute",
        AllocationMismatch => "Allocation Mismatch",
        StaleNonce => "Stale Nonce",
        AddressFamilyNotSupported => "Address Family not Supported",
        WrongCredentials => "Wrong Credentials",
        UnsupportedTransportProtocol => "Unsupported Transport Protocol",
        PeerAddressFamilyMismatch => "Peer Address Family Mismatch",
        AllocationQuotaReached => "Allocation Quota Reached",
        InsufficientCapacity => "Insufficient Capacity",
        _ => "Server Error",
    };
}

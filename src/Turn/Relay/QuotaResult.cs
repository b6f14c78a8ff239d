namespace Turn.Relay;

/// <summary>The answer of the allocation quotas.</summary>
internal enum QuotaResult
{
    Reserved,

    /// <summary>The user holds as many allocations as allowed: 486.</summary>
    UserFull,

    /// <summary>The client's address holds as many allocations as allowed: 486.</summary>
    AddressFull,

    /// <summary>The server holds as many allocations as allowed: 508.</summary>
    ServerFull,
}

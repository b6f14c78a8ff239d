namespace Turn.Relay;

/// <summary>Why an allocation ended.</summary>
internal enum AllocationEnd
{
    /// <summary>Its lifetime ran out without a refresh.</summary>
    Expired,

    /// <summary>The client deleted it with a Refresh of lifetime 0.</summary>
    Deleted,

    /// <summary>The TCP or TLS connection it belonged to closed (RFC 8656 §7).</summary>
    ConnectionClosed,

    /// <summary>The server stopped.</summary>
    Shutdown,
}

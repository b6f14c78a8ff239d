namespace Turn.Signal;

/// <summary>Who may join a room and receive TURN credentials without the API key.</summary>
public enum SignalAdmission
{
    /// <summary>No join-token secret and no open switch: clients on this host only (development).</summary>
    LocalOnly,

    /// <summary>Holders of a join token signed with Signal:JoinTokenSecret (production).</summary>
    JoinToken,

    /// <summary>Anyone (Signal:UnsafeOpenAdmission), within the per-address limits.</summary>
    Open,
}

namespace Turn.Signal;

/// <summary>The error codes of the signaling protocol (docs/signaling.md).</summary>
public static class SignalError
{
    public const string BadJson = "bad-json";
    public const string BadRequest = "bad-request";
    public const string UnknownType = "unknown-type";
    public const string TooLarge = "too-large";
    public const string RateLimited = "rate-limited";
    public const string NotJoined = "not-joined";
    public const string AlreadyJoined = "already-joined";
    public const string UnknownPeer = "unknown-peer";
    public const string RoomFull = "room-full";
    public const string TooManyRooms = "too-many-rooms";
    public const string AddressLimit = "address-limit";
    public const string BadToken = "bad-token";
    public const string ResumeFailed = "resume-failed";
    public const string ServerDraining = "draining";
    public const string Internal = "internal-error";

    /// <summary>Every code, for metrics that show each from the start.</summary>
    internal static readonly string[] All = [BadJson, BadRequest, UnknownType, TooLarge, RateLimited, NotJoined, AlreadyJoined, UnknownPeer, RoomFull, TooManyRooms, AddressLimit, BadToken, ResumeFailed, ServerDraining, Internal];
}

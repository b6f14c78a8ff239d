namespace Turn.Signal.Access;

/// <summary>Why a request was refused: the HTTP status to answer (401, 403, 429) and a sentence for the client.</summary>
public sealed record AccessRefusal(int Status, string Detail);

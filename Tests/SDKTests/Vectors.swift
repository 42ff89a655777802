// Placeholder until the vector parser lands.

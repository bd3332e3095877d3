// safetensors: read (SafeTensorsFile) and write (SafeTensorsWriter) fovea's weight files.
// docs/weights_format.md describes the layout, the metadata keys and the validation rules.
#pragma once

#include "fovea/io/safetensors_format.hpp"
#include "fovea/io/safetensors_reader.hpp"
#include "fovea/io/safetensors_writer.hpp"
